package web

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// The indicator trends on the manager's dashboard: each catalogue indicator
// drawn as an inline SVG chart, made here on the server (no script), with
// the same numbers in a table right after it. The chart is an image with a
// title and a description that say what it shows; the table is what a
// screen reader, a keyboard user or anyone who cannot tell the lines apart
// reads. Units are told apart by colour, dash pattern and marker shape
// together, never by colour alone.

// trendChart is one catalogue indicator across the provider's cycles: the
// chart of every unit's values year by year against the target, and the
// rows of the table that follows it.
type trendChart struct {
	// ID is unique on the page: the chart's title and description are
	// "<ID>-title" and "<ID>-desc".
	ID    string
	Code  string
	Name  string // in the reader's language
	Title string
	Desc  string
	// SVG is the chart, written by html/template (chartTemplate), which
	// escapes every name and number in it: no text reaches it unescaped.
	SVG  template.HTML
	Rows []trendRow
}

// trendRow is one unit's year of an indicator, in words: the table says
// "met", "not met" or "not measured: reason", never a colour.
type trendRow struct {
	Unit, Year, Value, Target, Result string
	Status                            string
}

// Chart geometry, in the SVG's own units (the viewBox); the chart scales to
// the width of the page.
const (
	chartW               = 680.0
	plotLeft, plotRight  = 70.0, 660.0
	plotTop, plotBottom  = 20.0, 250.0
	yearPad              = 40.0
	legendTop            = plotBottom + 76
	legendRow            = 24.0
	markerSize           = 5.0
	defaultTickCount     = 5
	chartTargetColour    = "#111111"
	chartTargetDash      = "12 4 2 4"
	chartTargetThickness = 1.5
)

// Units are drawn in colours that keep at least 3:1 contrast on white
// (WCAG 1.4.11), each with its own dash pattern and marker shape as well.
var (
	unitColours = []string{"#0b5fa5", "#b34700", "#00775a", "#8b3a8f", "#6b5a00", "#4d4d4d"}
	unitDashes  = []string{"", "8 4", "2 3", "10 3 2 3 2 3", "3 6", "14 4"}
	unitMarkers = []string{"circle", "square", "triangle", "diamond", "down", "cross"}
)

// trendCharts groups the provider's trends by indicator, in the order the
// store gives them (by code, then unit), and draws each.
func trendCharts(w words, trends []store.IndicatorTrend) ([]trendChart, error) {
	var codes []string
	byCode := map[string][]store.IndicatorTrend{}
	for _, t := range trends {
		if _, ok := byCode[t.Code]; !ok {
			codes = append(codes, t.Code)
		}
		byCode[t.Code] = append(byCode[t.Code], t)
	}
	out := make([]trendChart, 0, len(codes))
	for i, code := range codes {
		c, err := newTrendChart(w, fmt.Sprintf("trend-%d", i+1), byCode[code])
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// indicatorNameIn names an indicator in the reader's language, or in the
// other when it has no name in theirs.
func indicatorNameIn(lang render.Lang, t store.IndicatorTrend) string {
	if lang == render.English && t.NameEN != "" || t.NameFI == "" {
		return t.NameEN
	}
	return t.NameFI
}

// numberIn writes a number as readers of the language do: a decimal comma
// in Finnish.
func numberIn(lang render.Lang, v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if lang == render.Finnish {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// quantityIn is a number with its unit of measure: "9,5 %".
func quantityIn(lang render.Lang, v float64, unit string) string {
	if unit == "" {
		return numberIn(lang, v)
	}
	return numberIn(lang, v) + " " + unit
}

// chartSeries is one line of the chart: a unit's values, or a target.
type chartSeries struct {
	Label    string
	Colour   string
	Dash     string
	Width    float64
	Marker   string
	Segments []string // polyline points, "x,y x,y"; a value not measured breaks the line
	Points   []chartMarker
}

// chartMarker is a point of a series drawn as its marker, with what it
// shows in words (its tooltip).
type chartMarker struct {
	D    string // the marker's path
	Text string
}

type chartTick struct {
	At    float64
	Label string
}

// legendEntry is an entry of the legend, below the chart: a sample of the
// series' line from X to LineEnd, its marker and its label at TextX.
type legendEntry struct {
	Label, Colour, Dash  string
	Width                float64
	X, LineEnd, TextX, Y float64
	MarkerD              string
}

// chartData is what chartTemplate draws.
type chartData struct {
	ID, Title, Desc          string
	W, H                     float64
	Left, Right, Top, Bottom float64
	TickEnd                  float64
	XTicks, YTicks           []chartTick
	XLabel, YLabel           string
	XLabelX, XLabelY         float64
	YLabelTransform          string
	Lines                    []chartSeries // targets first, then the units
	Legend                   []legendEntry
	Footnote                 string
	FootnoteX, FootnoteY     float64
}

// chartTemplate is the SVG. It is an html/template, so that every name and
// number is escaped as the page's own text is; presentation attributes
// (stroke, fill) draw it, since the Content-Security-Policy allows no
// inline style.
var chartTemplate = template.Must(template.New("chart").Parse(`<svg xmlns="http://www.w3.org/2000/svg" class="trend-chart" viewBox="0 0 {{.W}} {{.H}}" role="img" aria-labelledby="{{.ID}}-title {{.ID}}-desc">
<title id="{{.ID}}-title">{{.Title}}</title>
<desc id="{{.ID}}-desc">{{.Desc}}</desc>
<g class="grid">
{{range .YTicks}}<line x1="{{$.Left}}" x2="{{$.Right}}" y1="{{.At}}" y2="{{.At}}" stroke="#d0d0d0" stroke-width="1"/>
<text x="{{$.Left}}" y="{{.At}}" dx="-8" dy="4" text-anchor="end">{{.Label}}</text>
{{end}}</g>
<g class="axes">
<line x1="{{.Left}}" x2="{{.Right}}" y1="{{.Bottom}}" y2="{{.Bottom}}" stroke="#333333" stroke-width="1.5"/>
<line x1="{{.Left}}" x2="{{.Left}}" y1="{{.Top}}" y2="{{.Bottom}}" stroke="#333333" stroke-width="1.5"/>
{{range .XTicks}}<line x1="{{.At}}" x2="{{.At}}" y1="{{$.Bottom}}" y2="{{$.TickEnd}}" stroke="#333333" stroke-width="1.5"/>
<text x="{{.At}}" y="{{$.Bottom}}" dy="22" text-anchor="middle">{{.Label}}</text>
{{end}}<text x="{{.XLabelX}}" y="{{.XLabelY}}" text-anchor="middle" class="axis-label">{{.XLabel}}</text>
<text transform="{{.YLabelTransform}}" text-anchor="middle" class="axis-label">{{.YLabel}}</text>
</g>
{{range .Lines}}{{$s := .}}<g class="series">
{{range .Segments}}<polyline points="{{.}}" fill="none" stroke="{{$s.Colour}}" stroke-width="{{$s.Width}}"{{with $s.Dash}} stroke-dasharray="{{.}}"{{end}}/>
{{end}}{{range .Points}}<path d="{{.D}}" fill="{{$s.Colour}}" stroke="{{$s.Colour}}"><title>{{.Text}}</title></path>
{{end}}</g>
{{end}}<g class="legend">
{{range .Legend}}<line x1="{{.X}}" x2="{{.LineEnd}}" y1="{{.Y}}" y2="{{.Y}}" stroke="{{.Colour}}" stroke-width="{{.Width}}"{{with .Dash}} stroke-dasharray="{{.}}"{{end}}/>
{{if .MarkerD}}<path d="{{.MarkerD}}" fill="{{.Colour}}" stroke="{{.Colour}}"/>
{{end}}<text x="{{.TextX}}" y="{{.Y}}" dy="4">{{.Label}}</text>
{{end}}</g>
{{with .Footnote}}<text x="{{$.FootnoteX}}" y="{{$.FootnoteY}}" class="footnote">{{.}}</text>
{{end}}</svg>`))

// markerPath draws a marker shape centred on (x, y).
func markerPath(shape string, x, y float64) string {
	r := markerSize
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	switch shape {
	case "square":
		return fmt.Sprintf("M%s %sh%sv%sh-%sz", f(x-r), f(y-r), f(2*r), f(2*r), f(2*r))
	case "triangle":
		return fmt.Sprintf("M%s %sL%s %sL%s %sz", f(x), f(y-r-1), f(x+r+1), f(y+r), f(x-r-1), f(y+r))
	case "down":
		return fmt.Sprintf("M%s %sL%s %sL%s %sz", f(x), f(y+r+1), f(x+r+1), f(y-r), f(x-r-1), f(y-r))
	case "diamond":
		return fmt.Sprintf("M%s %sL%s %sL%s %sL%s %sz", f(x), f(y-r-1), f(x+r+1), f(y), f(x), f(y+r+1), f(x-r-1), f(y))
	case "cross":
		t := 1.5
		return fmt.Sprintf("M%s %sh%sv%sh%sv%sh-%sv%sh-%sv-%sh-%sv-%sz",
			f(x-t), f(y-r), f(2*t), f(r-t), f(r-t), f(2*t), f(r-t), f(r-t), f(2*t), f(r-t), f(r-t), f(2*t))
	}
	// A circle, as two arcs.
	return fmt.Sprintf("M%s %sa%s %s 0 1 0 %s 0a%s %s 0 1 0 -%s 0z", f(x-r), f(y), f(r), f(r), f(2*r), f(r), f(r), f(2*r))
}

// niceTicks chooses round tick values that cover lo..hi: steps of 1, 2 or 5
// times a power of ten.
func niceTicks(lo, hi float64, count int) (start, step float64, n int) {
	if hi <= lo {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(count)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = mag * 10
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*mag {
			step = m * mag
			break
		}
	}
	start = math.Floor(lo/step) * step
	end := math.Ceil(hi/step) * step
	n = int(math.Round((end-start)/step)) + 1
	return start, step, n
}

// targetWords says what the target is in the direction it is met: "at most
// 8 %" when lower is better.
func targetWords(w words, better string, target float64, unit string) string {
	q := quantityIn(w.Lang, target, unit)
	if better == review.BetterLower {
		return w.T("dash.trend_at_most", "Target", q)
	}
	return w.T("dash.trend_at_least", "Target", q)
}

// resultWords says whether a year's target was met, in words.
func resultWords(w words, p store.TrendPoint) string {
	switch p.Status {
	case store.TrendMet:
		return w.T("dash.trend_met")
	case store.TrendNotMet:
		return w.T("dash.trend_not_met")
	}
	if p.Reason == "" {
		return w.T("dash.trend_not_measured")
	}
	return w.T("dash.trend_not_measured_reason", "Reason", p.Reason)
}

// newTrendChart draws one indicator, given the trends of its units.
func newTrendChart(w words, id string, units []store.IndicatorTrend) (trendChart, error) {
	if len(units) == 0 {
		return trendChart{}, fmt.Errorf("drawing a trend chart: no unit has indicator values")
	}
	first := units[0]
	lang := w.Lang
	name := indicatorNameIn(lang, first)
	c := trendChart{ID: id, Code: first.Code, Name: name}

	// The years, the range of the values and targets, and whether every unit
	// has the same target each year (then one target line is drawn).
	var years []int
	lo, hi := math.Inf(1), math.Inf(-1)
	see := func(v float64) { lo, hi = min(lo, v), max(hi, v) }
	targetOf := map[int]float64{}
	sameTarget := true
	notMeasured := 0
	var unitNames []string
	for _, u := range units {
		unitNames = append(unitNames, u.Unit)
		for _, p := range u.Points {
			if !slices.Contains(years, p.Year) {
				years = append(years, p.Year)
			}
			see(p.Target)
			if t, ok := targetOf[p.Year]; ok && t != p.Target {
				sameTarget = false
			}
			targetOf[p.Year] = p.Target
			if p.Value != nil {
				see(*p.Value)
			} else {
				notMeasured++
			}
		}
	}
	slices.Sort(years)
	if len(years) == 0 {
		return trendChart{}, fmt.Errorf("drawing the trend chart of %s: no year has a value or a target", first.Code)
	}
	// The scale starts at zero, so that a small change does not look large.
	start, step, nTicks := niceTicks(min(lo, 0), hi, defaultTickCount)
	top := start + step*float64(nTicks-1)
	yOf := func(v float64) float64 {
		return round1(plotBottom - (v-start)/(top-start)*(plotBottom-plotTop))
	}
	xOf := func(year int) float64 {
		if len(years) == 1 {
			return round1((plotLeft + plotRight) / 2)
		}
		span := float64(years[len(years)-1] - years[0])
		return round1(plotLeft + yearPad + float64(year-years[0])/span*(plotRight-plotLeft-2*yearPad))
	}

	d := chartData{
		ID: id, W: chartW, Left: plotLeft, Right: plotRight, Top: plotTop, Bottom: plotBottom, TickEnd: plotBottom + 6,
		XLabel: w.T("dash.trend_year"), XLabelX: (plotLeft + plotRight) / 2, XLabelY: plotBottom + 46,
		YLabel:          w.T("dash.trend_value"),
		YLabelTransform: "translate(18 " + strconv.FormatFloat((plotTop+plotBottom)/2, 'f', 1, 64) + ") rotate(-90)",
	}
	if first.UnitOfMeasure != "" {
		d.YLabel = w.T("dash.trend_value_in", "Unit", first.UnitOfMeasure)
	}
	decimals := max(0, -int(math.Floor(math.Log10(step))))
	for i := range nTicks {
		label := strconv.FormatFloat(start+float64(i)*step, 'f', decimals, 64)
		if lang == render.Finnish {
			label = strings.Replace(label, ".", ",", 1)
		}
		d.YTicks = append(d.YTicks, chartTick{At: yOf(start + float64(i)*step), Label: label})
	}
	for _, y := range years {
		d.XTicks = append(d.XTicks, chartTick{At: xOf(y), Label: strconv.Itoa(y)})
	}

	// A target line goes through each year's target; a single year's is a
	// short level line, so that it is still a line.
	targetLine := func(label, colour string, points []store.TrendPoint) chartSeries {
		var pts []string
		for _, p := range points {
			pts = append(pts, xy(xOf(p.Year), yOf(p.Target)))
		}
		if len(points) == 1 {
			x, y := xOf(points[0].Year), yOf(points[0].Target)
			pts = []string{xy(x-40, y), xy(x+40, y)}
		}
		return chartSeries{Label: label, Colour: colour, Dash: chartTargetDash, Width: chartTargetThickness,
			Segments: []string{strings.Join(pts, " ")}}
	}
	var targets, series []chartSeries
	if sameTarget {
		var pts []store.TrendPoint
		for _, y := range years {
			pts = append(pts, store.TrendPoint{Year: y, Target: targetOf[y]})
		}
		targets = append(targets, targetLine(w.T("dash.trend_target"), chartTargetColour, pts))
	}
	for i, u := range units {
		s := chartSeries{
			Label: u.Unit, Colour: unitColours[i%len(unitColours)], Dash: unitDashes[i%len(unitDashes)],
			Width: 2.5, Marker: unitMarkers[i%len(unitMarkers)],
		}
		points := slices.Clone(u.Points)
		slices.SortFunc(points, func(a, b store.TrendPoint) int { return a.Year - b.Year })
		var seg []string
		endSegment := func() {
			if len(seg) > 1 {
				s.Segments = append(s.Segments, strings.Join(seg, " "))
			}
			seg = nil
		}
		for _, p := range points {
			row := trendRow{Unit: u.Unit, Year: strconv.Itoa(p.Year), Value: "—",
				Target: targetWords(w, p.Better, p.Target, u.UnitOfMeasure), Result: resultWords(w, p), Status: p.Status}
			if p.Value == nil {
				// Not measured: the line breaks, and the table says why.
				endSegment()
				c.Rows = append(c.Rows, row)
				continue
			}
			row.Value = quantityIn(lang, *p.Value, u.UnitOfMeasure)
			c.Rows = append(c.Rows, row)
			x, y := xOf(p.Year), yOf(*p.Value)
			seg = append(seg, xy(x, y))
			s.Points = append(s.Points, chartMarker{D: markerPath(s.Marker, x, y), Text: w.T("dash.trend_point",
				"Unit", u.Unit, "Year", p.Year, "Value", row.Value, "Target", row.Target, "Result", row.Result)})
		}
		endSegment()
		series = append(series, s)
		if !sameTarget {
			// Each unit's own target, in the unit's colour with the
			// targets' dash pattern.
			targets = append(targets, targetLine(w.T("dash.trend_target_of", "Unit", u.Unit), s.Colour, points))
		}
	}
	d.Lines = slices.Concat(targets, series)

	// The legend, below the chart: each unit's line and marker, then the
	// targets, in rows as wide as the chart. A label's width is estimated
	// from its length, generously.
	x, y := plotLeft, legendTop
	for _, s := range slices.Concat(series, targets) {
		width := 44 + 8*float64(utf8.RuneCountInString(s.Label)) + 24
		if x > plotLeft && x+width > chartW {
			x, y = plotLeft, y+legendRow
		}
		e := legendEntry{Label: s.Label, Colour: s.Colour, Dash: s.Dash, Width: s.Width, X: x, LineEnd: x + 36, TextX: x + 44, Y: y}
		if s.Marker != "" {
			e.MarkerD = markerPath(s.Marker, x+18, y)
		}
		d.Legend = append(d.Legend, e)
		x += width
	}
	d.H = y + 20
	if notMeasured > 0 {
		d.Footnote = w.T("dash.trend_gaps", "Count", notMeasured)
		d.FootnoteX, d.FootnoteY = plotLeft, y+legendRow
		d.H = y + legendRow + 12
	}

	yearsText := strconv.Itoa(years[0])
	if len(years) > 1 {
		yearsText += "–" + strconv.Itoa(years[len(years)-1])
	}
	c.Title = w.T("dash.trend_title", "Name", name, "Code", first.Code, "Years", yearsText)
	better := w.T("dash.trend_higher_better")
	if first.Better == review.BetterLower {
		better = w.T("dash.trend_lower_better")
	}
	c.Desc = w.T("dash.trend_desc", "Units", strings.Join(unitNames, ", "), "Better", better)
	d.Title, d.Desc = c.Title, c.Desc

	var buf bytes.Buffer
	if err := chartTemplate.Execute(&buf, d); err != nil {
		return trendChart{}, fmt.Errorf("drawing the trend chart of %s: %w", first.Code, err)
	}
	// The template escaped every text it was given; what it wrote is safe
	// to place in the page as it is.
	c.SVG = template.HTML(buf.String())
	return c, nil
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

func xy(x, y float64) string {
	return strconv.FormatFloat(x, 'f', 1, 64) + "," + strconv.FormatFloat(y, 'f', 1, 64)
}
