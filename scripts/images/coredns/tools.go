//go:build tools

// Package tools pins the command scripts/build-images.sh builds from this module.
package tools

import (
	_ "github.com/coredns/coredns"
)
