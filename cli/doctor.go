package cli

import "github.com/spf13/cobra"

func newDoctorCommand() *cobra.Command {
	return &cobra.Command{Use: "doctor", Short: "Check a node's health", Hidden: true}
}
