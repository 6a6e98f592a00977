package storage_test

import (
	"fmt"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/storage"
)

func ExampleClassName() {
	fmt.Println(storage.ClassName(env.RoleBlock), storage.ClassName(env.RoleFile))
	// Output: vigil-block vigil-file
}
