package policytest_test

import (
	"testing"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/plugins/policytest"
)

func TestBuiltinConformance(t *testing.T) { policytest.Run(t, engine.Builtin{}) }
