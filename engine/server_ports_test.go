package engine

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

// A port taken between the check and the server's bind used to end the whole test binary
// (the server's Fatal called os.Exit with its message in a discarded log). StartServer now
// tries fresh ports instead.
func TestStartServerRetriesWhenAPortIsTaken(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port
	calls := 0
	portPicker = func(n int) ([]int, error) {
		calls++
		ports, err := pickPorts(n)
		if calls == 1 && err == nil {
			ports[3] = takenPort // history's membership port: bound during construction
		}
		return ports, err
	}
	defer func() { portPicker = pickPorts }()

	srv, err := StartServer(ServerConfig{DataDir: t.TempDir(), Logger: quietLogger()})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	defer srv.Stop()
	if calls < 2 {
		t.Fatalf("ports picked %d times, want a second pick after the taken port", calls)
	}
	if strings.HasSuffix(srv.HostPort(), ":"+strconv.Itoa(takenPort)) {
		t.Fatalf("frontend on the taken port %d", takenPort)
	}
}

func TestStartServerRefusesATakenFrontendPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, err = StartServer(ServerConfig{DataDir: t.TempDir(), FrontendAddr: taken.Addr().String(), Logger: quietLogger()})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("err = %v, want the address in use", err)
	}
}

func TestPickedPortsAvoidTheEphemeralRange(t *testing.T) {
	lo, hi := ephemeralRange()
	ports, err := pickPorts(numServicePorts)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p >= lo && p <= hi {
			t.Errorf("port %d inside the ephemeral range %d-%d", p, lo, hi)
		}
		if seen[p] {
			t.Errorf("port %d picked twice", p)
		}
		seen[p] = true
	}
	for _, c := range []struct{ lo, hi, wantLo, wantHi int }{
		{32768, 60999, 10000, 32768},
		{1024, 60999, 61000, 65536},
		{1024, 65535, 1024, 65536},
	} {
		if l, h := portWindow(c.lo, c.hi); l != c.wantLo || h != c.wantHi {
			t.Errorf("portWindow(%d, %d) = %d, %d; want %d, %d", c.lo, c.hi, l, h, c.wantLo, c.wantHi)
		}
	}
}
