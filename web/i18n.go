package web

import (
	"embed"
	"fmt"
	"net/http"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/oho-dev/oho/render"
)

// The pages' words are in message catalogs, one per language: locales/fi.toml
// and locales/en.toml, each key a message ID. A test checks that both have
// every key, and that every key the templates use exists.
//
//go:embed locales/*.toml
var localeFiles embed.FS

// languages are the languages of the pages, Finnish first: it is the
// default.
var languages = []language.Tag{language.Finnish, language.English}

var (
	bundle  = newBundle()
	matcher = language.NewMatcher(languages)
)

func newBundle() *i18n.Bundle {
	b := i18n.NewBundle(language.Finnish)
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	for _, name := range []string{"locales/fi.toml", "locales/en.toml"} {
		if _, err := b.LoadMessageFileFS(localeFiles, name); err != nil {
			panic(fmt.Sprintf("web: the message catalog %s does not load: %v", name, err))
		}
	}
	return b
}

// LangCookie remembers the language chosen with the switch for someone not
// logged in; a person's choice is remembered with their account.
const LangCookie = "oho_lang"

// words is one reader's language: the pages ask it for their words.
type words struct {
	Lang render.Lang
	l    *i18n.Localizer
}

func wordsFor(lang render.Lang) words {
	return words{Lang: lang, l: i18n.NewLocalizer(bundle, string(lang))}
}

// T returns the message with the ID, its {{.Name}} placeholders filled from
// pairs of name and value. A message missing from the catalog shows its ID,
// which the catalog test prevents.
func (w words) T(id string, pairs ...any) string {
	var data map[string]any
	if len(pairs) > 0 {
		data = make(map[string]any, len(pairs)/2)
		for i := 0; i+1 < len(pairs); i += 2 {
			data[fmt.Sprint(pairs[i])] = pairs[i+1]
		}
	}
	s, err := w.l.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		return id
	}
	return s
}

// readerLang chooses the language of a page: the person's own choice, else
// the switch's cookie, else the browser's Accept-Language, else Finnish.
func readerLang(r *http.Request, chosen string) render.Lang {
	if chosen == "fi" || chosen == "en" {
		return render.Lang(chosen)
	}
	if c, err := r.Cookie(LangCookie); err == nil && (c.Value == "fi" || c.Value == "en") {
		return render.Lang(c.Value)
	}
	if accept := r.Header.Get("Accept-Language"); strings.TrimSpace(accept) != "" {
		tags, _, err := language.ParseAcceptLanguage(accept)
		if err == nil && len(tags) > 0 {
			_, i, conf := matcher.Match(tags...)
			if conf != language.No {
				return render.Lang(languages[i].String())
			}
		}
	}
	return render.Finnish
}
