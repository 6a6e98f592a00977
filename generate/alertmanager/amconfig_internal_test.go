package alertmanager

import (
	"errors"
	"testing"

	"github.com/vigil-stack/vigil/generate/env"
)

// blame points Alertmanager's refusals at the field the user wrote.
func TestBlame(t *testing.T) {
	e := &env.Environment{}
	e.Monitoring.Namespace = "monitoring"
	a := &e.Monitoring.Alertmanager
	a.Slack.Receivers = map[string]env.SlackReceiver{"te": {}, "team": {}, "other": {}}
	a.Slack.DefaultReceiver = "other"
	a.Routes = map[string]env.AlertRoute{"r": {Receiver: "team"}}
	c, err := Config(e)
	if err != nil {
		t.Fatal(err)
	}
	prefix := c.Namespace + "/" + c.Name + "/"
	for _, tc := range []struct{ err, want string }{
		{`undefined receiver "` + prefix + `team" used in route`, "monitoring.alertmanager.routes.r.receiver"},
		{`undefined receiver "` + prefix + `other" used in route`, "monitoring.alertmanager.slack.defaultReceiver"},
		{`notification config name "` + prefix + `team" is not unique`, "monitoring.alertmanager.slack.receivers.team"},
		{`notification config name "` + prefix + `te" is not unique`, "monitoring.alertmanager.slack.receivers.te"},
		{"receiver other: api_url missing", "monitoring.alertmanager.slack.receivers.other"},
		{"group_wait: duration out of range", "monitoring.alertmanager.groupWait"},
		{"group_interval cannot be zero", "monitoring.alertmanager.groupInterval"},
		{"repeat_interval cannot be zero", "monitoring.alertmanager.repeatInterval"},
		{`undefined receiver "` + prefix + `nobody" used in route`, "monitoring.alertmanager"},
		{"yaml: line 3: mapping values are not allowed", "monitoring.alertmanager"},
	} {
		if got := env.PathString(blame(e, c, errors.New(tc.err))); got != tc.want {
			t.Errorf("%s: blamed %s, want %s", tc.err, got, tc.want)
		}
	}
	// The duration parser's error names no field; the unparsable one is.
	a.RepeatInterval = "300000y"
	if got := env.PathString(blame(e, c, errors.New("duration out of range"))); got != "monitoring.alertmanager.repeatInterval" {
		t.Errorf("an overflowing repeat interval: blamed %s", got)
	}
}
