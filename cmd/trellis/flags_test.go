package main

import (
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantRole   string
		wantAddr   string
		wantDry    bool
		wantCount  int
		wantArgs   []string
		wantErr    string // substring; empty means success
		wantHelp   bool
		wantUsageE bool
	}{
		{name: "positional before flags", args: []string{"alice", "--role", "analyst"}, wantRole: "analyst", wantArgs: []string{"alice"}},
		{name: "interleaved", args: []string{"--role=admin", "alice", "bob", "--dry-run", "carol"}, wantRole: "admin", wantDry: true, wantArgs: []string{"alice", "bob", "carol"}},
		{name: "double dash ends flags", args: []string{"--role", "x", "--", "--count", "-"}, wantRole: "x", wantArgs: []string{"--count", "-"}},
		{name: "single dash is positional", args: []string{"-", "--count", "3"}, wantCount: 3, wantArgs: []string{"-"}},
		{name: "env fills unset flags", args: []string{"alice"}, env: map[string]string{"TRELLIS_ROLE": "reviewer", "TRELLIS_TEMPORAL_ADDRESS": "tmp:7233", "TRELLIS_DRY_RUN": "true", "TRELLIS_COUNT": "7"},
			wantRole: "reviewer", wantAddr: "tmp:7233", wantDry: true, wantCount: 7, wantArgs: []string{"alice"}},
		{name: "flag beats env", args: []string{"--role", "analyst"}, env: map[string]string{"TRELLIS_ROLE": "admin"}, wantRole: "analyst", wantArgs: []string{}},
		{name: "empty env is unset", env: map[string]string{"TRELLIS_ROLE": ""}, wantArgs: []string{}},
		{name: "bad env value names the variable", env: map[string]string{"TRELLIS_COUNT": "many"}, wantErr: "test: invalid value in TRELLIS_COUNT", wantUsageE: true},
		{name: "unknown flag", args: []string{"alice", "--frob"}, wantErr: "test: unknown flag --frob; run 'trellis test -h'", wantUsageE: true},
		{name: "missing value", args: []string{"--role"}, wantErr: "test: flag --role needs a value", wantUsageE: true},
		{name: "bad value", args: []string{"--count", "x"}, wantErr: `test: invalid value "x" for --count`, wantUsageE: true},
		{name: "help", args: []string{"alice", "-h"}, wantHelp: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFlagSet("test")
			role := fs.String("role", "", "")
			addr := fs.String("temporal-address", "", "")
			dry := fs.Bool("dry-run", false, "")
			count := fs.Int("count", 0, "")
			err := parseFlags(fs, tt.args, func(k string) string { return tt.env[k] })
			switch {
			case tt.wantHelp:
				if !errors.Is(err, flag.ErrHelp) {
					t.Fatalf("err = %v, want flag.ErrHelp", err)
				}
				return
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				var ue *usageError
				if errors.As(err, &ue) != tt.wantUsageE {
					t.Errorf("usage error = %v, want %v", !tt.wantUsageE, tt.wantUsageE)
				}
				return
			case err != nil:
				t.Fatalf("parseFlags: %v", err)
			}
			if *role != tt.wantRole || *addr != tt.wantAddr || *dry != tt.wantDry || *count != tt.wantCount {
				t.Errorf("got role=%q addr=%q dry=%v count=%d", *role, *addr, *dry, *count)
			}
			if got := fs.Args(); !slices.Equal(got, tt.wantArgs) && !(len(got) == 0 && len(tt.wantArgs) == 0) {
				t.Errorf("positionals = %q, want %q", got, tt.wantArgs)
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	tests := []struct{ flag, want string }{
		{"data", "TRELLIS_DATA"},
		{"temporal-address", "TRELLIS_TEMPORAL_ADDRESS"},
		{"temporal-tls-ca", "TRELLIS_TEMPORAL_TLS_CA"},
	}
	for _, tt := range tests {
		if got := envName(tt.flag); got != tt.want {
			t.Errorf("envName(%q) = %q, want %q", tt.flag, got, tt.want)
		}
	}
}
