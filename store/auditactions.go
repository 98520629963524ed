package store

// AuditActions are the actions the audit trail records, in the order a
// cycle meets them, for a filter to offer; a test holds the list to the
// Action constants.
var AuditActions = []string{
	ActionOrgImported, ActionPlanImported, ActionScheduleSet, ActionScheduleDeleted,
	ActionCycleStarted, ActionPhaseChanged, ActionTaskOpened, ActionTaskClaimed, ActionTaskUnclaimed,
	ActionTaskDelegated, ActionTaskReassigned, ActionTaskExtended, ActionTaskReminded, ActionTaskOverdue,
	ActionTaskOverdueReminded, ActionTaskCompleted, ActionTaskSuperseded, ActionTaskCancelled,
	ActionFindingRecorded, ActionEffectivenessRated, ActionConsultationRecorded, ActionFeedbackRecorded,
	ActionChangeRecorded, ActionDispositionRecorded, ActionDraftRecorded, ActionSignOffRecorded,
	ActionApprovalRecorded, ActionPlanPublished, ActionCycleFailed, ActionCycleCancelled, ActionCycleRestarted,
	ActionLoginSucceeded, ActionLoginFailed, ActionLoginLocked, ActionLogout, ActionInvitationSent,
	ActionPasswordSet, ActionPersonDisabled, ActionTokenCreated, ActionTokenRevoked, ActionPersonExported,
	ActionPayloadsDecoded, ActionNoticesDeleted, ActionPersonPseudonymised,
}
