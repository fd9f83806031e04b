package netns

import (
	"strings"
	"testing"
)

func TestUnique(t *testing.T) {
	a, b := Unique("lbk"), Unique("lbk")
	if a == b || len(a) > 15 || !strings.HasPrefix(a, "lbk") {
		t.Fatalf("Unique: %q, %q", a, b)
	}
}

func TestVethPing(t *testing.T) {
	a := NewT(t, "lbka")
	b := NewT(t, "lbkb")
	VethT(t, a, "eth0", b, "eth0")
	if err := a.Addr("eth0", "10.231.0.1/30"); err != nil {
		t.Fatal(err)
	}
	if err := b.Addr("eth0", "10.231.0.2/30"); err != nil {
		t.Fatal(err)
	}
	a.MustRun(t, "ping", "-c1", "-W2", "10.231.0.2")
	mac, err := b.MAC("eth0")
	if err != nil || len(mac) != 17 {
		t.Fatalf("MAC = %q, %v", mac, err)
	}
	cmd := a.Command("sleep", "60")
	if err := a.Start(cmd); err != nil {
		t.Fatal(err)
	}
	a.Stop(cmd)
	if cmd.ProcessState == nil {
		t.Fatal("process not reaped after Stop")
	}
}
