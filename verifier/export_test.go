package verifier

import "os"

// IDLEDGER_TEST_OLD_FEED_DESIGN=1 runs the tests against the design before
// change lists: updates are taken without checking that they carry every
// change of their block (to show the Omission test failing there).
func init() {
	if os.Getenv("IDLEDGER_TEST_OLD_FEED_DESIGN") != "" {
		requireCompleteness = false
	}
}
