package env

// ECKOperator configures the ECK operator; see schema/eck_operator.cue.
type ECKOperator struct {
	Resources Resources `json:"resources"`
}
