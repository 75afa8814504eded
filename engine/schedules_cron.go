package engine

import (
	"fmt"
	"strconv"
	"strings"
)

// CronError is a cron expression that does not parse: Column (1-based) is where the field
// that fails starts, Field names it.
type CronError struct {
	Column  int
	Field   string
	Message string
}

func (e *CronError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("column %d: %s", e.Column, e.Message)
	}
	return fmt.Sprintf("column %d (%s): %s", e.Column, e.Field, e.Message)
}

type cronField struct {
	name     string
	min, max int
	names    []string // names[i] stands for min+i
	question bool     // "?" allowed
}

var (
	cronSecond = cronField{name: "second", max: 59}
	cronFields = []cronField{
		{name: "minute", max: 59},
		{name: "hour", max: 23},
		{name: "day of month", min: 1, max: 31, question: true},
		{name: "month", min: 1, max: 12, names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
		{name: "day of week", max: 7, names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}, question: true},
	}
)

// MaxCronLength bounds a cron expression.
const MaxCronLength = 200

// ParseCron checks a cron expression of five fields (minute hour day-of-month month
// day-of-week) or six (a second first) and returns it as Temporal's schedules read it
// (whose six-field form would take the sixth as a year). Lists, ranges, steps, * and
// month and weekday names are allowed. An error is a *CronError with the column.
func ParseCron(expr string) (string, error) {
	if len(expr) > MaxCronLength {
		return "", &CronError{Column: MaxCronLength + 1, Message: fmt.Sprintf("a cron expression may be at most %d characters", MaxCronLength)}
	}
	type tok struct {
		text string
		col  int
	}
	var toks []tok
	for i := 0; i < len(expr); {
		if expr[i] == ' ' || expr[i] == '\t' {
			i++
			continue
		}
		j := i
		for j < len(expr) && expr[j] != ' ' && expr[j] != '\t' {
			j++
		}
		toks = append(toks, tok{expr[i:j], i + 1})
		i = j
	}
	fields := cronFields
	switch len(toks) {
	case 5:
	case 6:
		fields = append([]cronField{cronSecond}, cronFields...)
	default:
		col := len(expr) + 1
		if len(toks) > 6 {
			col = toks[6].col
		}
		return "", &CronError{Column: col, Message: fmt.Sprintf("%d fields; write 5 (minute hour day-of-month month day-of-week) or 6 (a second first)", len(toks))}
	}
	out := make([]string, len(toks))
	for i, t := range toks {
		if err := fields[i].check(t.text); err != nil {
			return "", &CronError{Column: t.col, Field: fields[i].name, Message: err.Error()}
		}
		out[i] = t.text
	}
	if len(toks) == 6 {
		out = append(out, "*") // Temporal's seven fields end with the year
	}
	return strings.Join(out, " "), nil
}

// check reads one field: a comma list of *, ?, N, N-M, with an optional /STEP.
func (f cronField) check(text string) error {
	for item := range strings.SplitSeq(text, ",") {
		if item == "" {
			return fmt.Errorf("an empty item in a list")
		}
		rng, step, hasStep := strings.Cut(item, "/")
		if hasStep {
			n, err := strconv.Atoi(step)
			if err != nil || n < 1 || n > f.max+1 {
				return fmt.Errorf("step %q must be a whole number from 1 to %d", step, f.max+1)
			}
		}
		if rng == "*" || (rng == "?" && f.question && !hasStep) {
			continue
		}
		lo, hi, isRange := strings.Cut(rng, "-")
		a, err := f.value(lo)
		if err != nil {
			return err
		}
		if isRange {
			b, err := f.value(hi)
			if err != nil {
				return err
			}
			if b < a {
				return fmt.Errorf("range %s runs backwards", rng)
			}
		}
	}
	return nil
}

func (f cronField) value(s string) (int, error) {
	for i, n := range f.names {
		if strings.EqualFold(s, n) {
			return f.min + i, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < f.min || v > f.max {
		if len(f.names) > 0 {
			return 0, fmt.Errorf("%q is not a %s: use %d to %d or a name like %s", s, f.name, f.min, f.max, f.names[0])
		}
		return 0, fmt.Errorf("%q is not a %s: use %d to %d", s, f.name, f.min, f.max)
	}
	return v, nil
}
