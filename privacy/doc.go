// Package privacy holds the rules that keep personal data off the ledger
// beyond what the JPKI packages already refuse. Its one rule today: text the
// ledger records in the clear (claim types, revocation reasons, member names)
// and claim content that gets hashed onto it must not carry a My Number
// (個人番号), which idledger never records in any form.
package privacy
