package alertmanager_test

import (
	"fmt"

	"github.com/vigil-stack/vigil/generate/alertmanager"
)

func ExampleGoDuration() {
	for _, d := range []string{"5d", "1w", "90m"} {
		g, _ := alertmanager.GoDuration(d)
		fmt.Println(g)
	}
	// Output:
	// 120h
	// 168h
	// 1h30m
}
