package verifier_test

import (
	"os"
	"testing"

	"github.com/cometbft/cometbft/libs/log"
)

func TestMain(m *testing.M) {
	if os.Getenv("VDEBUG") != "" {
		testLogger = log.NewTMLogger(log.NewSyncWriter(os.Stderr))
	}
	os.Exit(m.Run())
}
