package alertmanager

// The operator's conversion (pkg/alertmanager/amcfg.go in the
// prometheus-operator main module) is not importable without that whole
// module, so OperatorYAML redoes it for the fields Vigil uses, the way the
// operator does for the AlertmanagerConfig named by
// spec.alertmanagerConfiguration: receivers and routes get the
// "<namespace>/<name>/" prefix, matchers are written in the v2 syntax,
// inhibit rules and routes get no namespace matcher, and webhook URLs are
// read from their Secrets. `gen validate` loads the result with
// Alertmanager's own config.Load, the loader the tests use on the
// examples, so that what Alertmanager would refuse never renders.

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/prometheus/alertmanager/config"
	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"

	"github.com/vigil-stack/vigil/generate/env"
)

// The alertmanager.yaml structure, for the fields the operator writes from
// what Vigil uses.
type (
	amFile struct {
		Global       *amGlobal   `json:"global,omitempty"`
		Route        *amRoute    `json:"route"`
		InhibitRules []amInhibit `json:"inhibit_rules,omitempty"`
		Receivers    []amRecv    `json:"receivers"`
		Templates    []string    `json:"templates"`
	}
	amGlobal struct {
		ResolveTimeout string `json:"resolve_timeout,omitempty"`
	}
	amRoute struct {
		Receiver       string     `json:"receiver,omitempty"`
		GroupBy        []string   `json:"group_by,omitempty"`
		Matchers       []string   `json:"matchers,omitempty"`
		Continue       bool       `json:"continue,omitempty"`
		Routes         []*amRoute `json:"routes,omitempty"`
		GroupWait      string     `json:"group_wait,omitempty"`
		GroupInterval  string     `json:"group_interval,omitempty"`
		RepeatInterval string     `json:"repeat_interval,omitempty"`
	}
	amInhibit struct {
		SourceMatchers []string `json:"source_matchers,omitempty"`
		TargetMatchers []string `json:"target_matchers,omitempty"`
		Equal          []string `json:"equal,omitempty"`
	}
	amRecv struct {
		Name         string    `json:"name"`
		SlackConfigs []amSlack `json:"slack_configs,omitempty"`
	}
	amSlack struct {
		SendResolved *bool  `json:"send_resolved,omitempty"`
		APIURL       string `json:"api_url,omitempty"`
		Channel      string `json:"channel,omitempty"`
	}
)

// PlaceholderURL stands in for the cluster's Secrets at validate time:
// every key of every Secret holds a distinct URL that is no secret, so an
// error quoting it leaks nothing. Escaping keeps the URL valid whatever
// the names hold: Alertmanager must refuse the user's routing, never the
// placeholder.
func PlaceholderURL(name, key string) (string, error) {
	return fmt.Sprintf("https://slack.example.invalid/hooks/%s/%s", url.PathEscape(name), url.PathEscape(key)), nil
}

// OperatorYAML is the alertmanager.yaml the operator writes for an
// Alertmanager with the global settings global whose configuration is c;
// secret reads a Secret key as the operator would.
func OperatorYAML(global *monitoringv1.AlertmanagerGlobalConfig, c *monitoringv1alpha1.AlertmanagerConfig,
	secret func(name, key string) (string, error)) ([]byte, error) {
	prefix := func(s string) string {
		if s == "" {
			return ""
		}
		return c.Namespace + "/" + c.Name + "/" + s
	}
	matchers := func(ms []monitoringv1alpha1.Matcher) ([]string, error) {
		var out []string
		for _, m := range ms {
			if m.MatchType == "" {
				return nil, fmt.Errorf("matcher %s without matchType: the deprecated form is not converted here", m.Name)
			}
			if err := m.Validate(); err != nil {
				return nil, err
			}
			out = append(out, m.String())
		}
		return out, nil
	}
	var route func(r *monitoringv1alpha1.Route) (*amRoute, error)
	route = func(r *monitoringv1alpha1.Route) (*amRoute, error) {
		ms, err := matchers(r.Matchers)
		if err != nil {
			return nil, err
		}
		out := &amRoute{Receiver: prefix(r.Receiver), GroupBy: r.GroupBy, Matchers: ms, Continue: r.Continue}
		for _, d := range []struct {
			dst *string
			src *monitoringv1.NonEmptyDuration
		}{{&out.GroupWait, r.GroupWait}, {&out.GroupInterval, r.GroupInterval}, {&out.RepeatInterval, r.RepeatInterval}} {
			if d.src != nil {
				*d.dst = string(*d.src)
			}
		}
		children, err := r.ChildRoutes()
		if err != nil {
			return nil, err
		}
		for i := range children {
			child, err := route(&children[i])
			if err != nil {
				return nil, err
			}
			out.Routes = append(out.Routes, child)
		}
		return out, nil
	}

	out := &amFile{Templates: []string{}}
	if global != nil && global.ResolveTimeout != "" {
		out.Global = &amGlobal{ResolveTimeout: string(global.ResolveTimeout)}
	}
	if c.Spec.Route == nil {
		return nil, errors.New("no route")
	}
	root, err := route(c.Spec.Route)
	if err != nil {
		return nil, err
	}
	// The operator's checkAlertmanagerConfigRootRoute.
	if root.Receiver == "" || root.Continue || len(root.Matchers) > 0 {
		return nil, errors.New("root route: needs a receiver, no continue and no matchers")
	}
	out.Route = root
	for _, ir := range c.Spec.InhibitRules {
		src, err := matchers(ir.SourceMatch)
		if err != nil {
			return nil, err
		}
		dst, err := matchers(ir.TargetMatch)
		if err != nil {
			return nil, err
		}
		out.InhibitRules = append(out.InhibitRules, amInhibit{SourceMatchers: src, TargetMatchers: dst, Equal: ir.Equal})
	}
	for _, r := range c.Spec.Receivers {
		rcv := amRecv{Name: prefix(r.Name)}
		for _, sc := range r.SlackConfigs {
			if err := sc.Validate(); err != nil {
				return nil, fmt.Errorf("receiver %s: %w", r.Name, err)
			}
			s := amSlack{SendResolved: sc.SendResolved}
			if sc.APIURL != nil {
				u, err := secret(sc.APIURL.Name, sc.APIURL.Key)
				if err != nil {
					return nil, err
				}
				s.APIURL = u
			}
			if sc.Channel != nil {
				s.Channel = *sc.Channel
			}
			rcv.SlackConfigs = append(rcv.SlackConfigs, s)
		}
		out.Receivers = append(out.Receivers, rcv)
	}
	b, err := yaml.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("alertmanager.yaml: %w", err)
	}
	return b, nil
}

// A LoadError is Alertmanager's refusal of the configuration Vigil builds
// for an environment, with the environment field it concerns most.
type LoadError struct {
	Path []string
	Err  error
}

func (e *LoadError) Error() string { return env.PathString(e.Path) + ": " + e.Err.Error() }
func (e *LoadError) Unwrap() error { return e.Err }

// LoadConfig builds e's Alertmanager and its routing as Generate does,
// converts them as the operator does with placeholder webhook URLs, and
// loads the result with Alertmanager's config.Load. An error of the
// generator itself is returned as is (Go checks report those at better
// positions); Alertmanager's refusal is a *LoadError.
func LoadConfig(e *env.Environment) (*config.Config, error) {
	am, err := instance(e)
	if err != nil {
		return nil, fmt.Errorf("alertmanager: %w", err)
	}
	c, err := Config(e)
	if err != nil {
		return nil, fmt.Errorf("alertmanager: %w", err)
	}
	b, err := OperatorYAML(am.Spec.AlertmanagerConfiguration.Global, c, PlaceholderURL)
	if err != nil {
		return nil, &LoadError{Path: blame(e, c, err), Err: fmt.Errorf("the operator's conversion: %w", err)}
	}
	cfg, err := config.Load(string(b))
	if err != nil {
		return nil, &LoadError{Path: blame(e, c, err), Err: err}
	}
	return cfg, nil
}

// blame finds the environment field an error of Alertmanager's loader is
// about: a receiver or the routes naming the one it quotes, a timing
// setting it names, else the Alertmanager section as a whole.
func blame(e *env.Environment, c *monitoringv1alpha1.AlertmanagerConfig, err error) []string {
	msg := err.Error()
	a := e.Monitoring.Alertmanager
	base := env.P("monitoring", "alertmanager")
	for _, name := range env.SortedKeys(a.Slack.Receivers) {
		if !strings.Contains(msg, fmt.Sprintf("%q", c.Namespace+"/"+c.Name+"/"+name)) && !strings.Contains(msg, "receiver "+name+":") {
			continue
		}
		if strings.Contains(msg, "used in route") {
			for _, rn := range env.SortedKeys(a.Routes) {
				if a.Routes[rn].Receiver == name {
					return append(base, "routes", rn, "receiver")
				}
			}
			if a.Slack.DefaultReceiver == name {
				return append(base, "slack", "defaultReceiver")
			}
		}
		return append(base, "slack", "receivers", name)
	}
	timing := []struct{ key, field, value string }{
		{"group_wait", "groupWait", a.GroupWait}, {"group_interval", "groupInterval", a.GroupInterval}, {"repeat_interval", "repeatInterval", a.RepeatInterval},
	}
	// Alertmanager's duration parser does not say which field it read: an
	// unparsable duration fails the whole file before any other check.
	for _, f := range timing {
		if _, err := model.ParseDuration(f.value); f.value != "" && err != nil {
			return append(base, f.field)
		}
	}
	for _, f := range timing {
		if strings.Contains(msg, f.key) {
			return append(base, f.field)
		}
	}
	return base
}
