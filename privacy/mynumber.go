package privacy

import "regexp"

// myNumberShape is a My Number as people write it: twelve digits, maybe
// grouped 4-4-4 with a space or hyphen, not part of a longer number.
var myNumberShape = regexp.MustCompile(`(?:^|[^0-9])([0-9]{4})[ -]?([0-9]{4})[ -]?([0-9]{4})(?:[^0-9]|$)`)

// ValidMyNumber reports whether d (12 ASCII digits) is a well-formed My
// Number: its last digit is the check digit of the first eleven, as the
// Ministry of Internal Affairs' ordinance defines it (weights 2..7 then
// 2..6 from the right, modulus 11).
func ValidMyNumber(d string) bool {
	if len(d) != 12 {
		return false
	}
	sum := 0
	for n := 1; n <= 11; n++ { // P_n is the n-th digit from the right of the first eleven
		c := d[11-n]
		if c < '0' || c > '9' {
			return false
		}
		q := n + 1
		if n >= 7 {
			q = n - 5
		}
		sum += int(c-'0') * q
	}
	check := 0
	if r := sum % 11; r > 1 {
		check = 11 - r
	}
	return d[11] == byte('0'+check)
}

// FindMyNumber returns the first well-formed My Number written in b (twelve
// digits, or 4-4-4 groups separated by a space or hyphen, standing alone),
// and whether there is one. About one twelve-digit number in eleven passes
// the check digit by chance, so a long number that is no My Number may be
// caught: callers say so in their refusal.
func FindMyNumber(b []byte) (string, bool) {
	for i := 0; i < len(b); {
		loc := myNumberShape.FindSubmatchIndex(b[i:])
		if loc == nil {
			return "", false
		}
		d := string(b[i+loc[2]:i+loc[3]]) + string(b[i+loc[4]:i+loc[5]]) + string(b[i+loc[6]:i+loc[7]])
		if ValidMyNumber(d) {
			return d, true
		}
		i += loc[2] + 1 // overlapping candidates: move past this one's first digit
	}
	return "", false
}

// Mask shows a found number without repeating it: the last four digits.
func Mask(d string) string {
	if len(d) < 4 {
		return "****"
	}
	return "********" + d[len(d)-4:]
}
