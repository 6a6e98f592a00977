package stack

import "strings"

// Runbooks. An alert named as in kube-prometheus links to that project's
// runbook, so its advice applies as written; an alert of Vigil's own links
// to its section of docs/runbooks.md, whose anchor is the alert name in
// lower case (the anchor GitHub gives the heading "### AlertName").
const (
	UpstreamRunbooks = "https://runbooks.prometheus-operator.dev/runbooks"
	VigilRunbooks    = "https://github.com/vigil-stack/vigil/blob/main/docs/runbooks.md"
)

// UpstreamRunbook is the kube-prometheus runbook of an alert, under area
// ("node", "kube-state-metrics", …).
func UpstreamRunbook(area, alert string) string {
	return UpstreamRunbooks + "/" + area + "/" + strings.ToLower(alert)
}

// VigilRunbook is the section of Vigil's runbooks about an alert.
func VigilRunbook(alert string) string { return VigilRunbooks + "#" + strings.ToLower(alert) }
