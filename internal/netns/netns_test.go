package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
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

func TestMain(m *testing.M) {
	Helpers["netns-child"] = childMain
	Main(m)
}

// childMain answers "add" with the sum of its numbers, "iface" with the
// names of its namespace's interfaces, "fail" with an error and "exit" by
// exiting; it prints its calls on stdout.
func childMain() int {
	return Serve(func(_ context.Context, req Request) (any, error) {
		fmt.Println("call", req.Op)
		switch req.Op {
		case "add":
			var xs []int
			if err := req.Decode(&xs); err != nil {
				return nil, err
			}
			sum := 0
			for _, x := range xs {
				sum += x
			}
			return sum, nil
		case "iface":
			ifs, err := net.Interfaces()
			var names []string
			for _, i := range ifs {
				names = append(names, i.Name)
			}
			return names, err
		case "exit":
			os.Exit(3)
		}
		return nil, fmt.Errorf("no such op %q", req.Op)
	})
}

func TestChild(t *testing.T) {
	ctx := context.Background()
	ns := NewT(t, "lbkc")
	ns.MustRun(t, "ip", "link", "add", "child0", "type", "veth", "peer", "name", "child1")
	var out bytes.Buffer
	cmd := ns.Helper("netns-child")
	cmd.Stdout = &out
	c, err := ns.StartChild(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	var sum int
	if err := c.Call(ctx, "add", []int{1, 2, 39}, &sum); err != nil || sum != 42 {
		t.Fatalf("add: %d, %v", sum, err)
	}
	var names []string
	if err := c.Call(ctx, "iface", nil, &names); err != nil || !slices.Contains(names, "child0") {
		t.Fatalf("the child runs outside its namespace: interfaces %v, %v", names, err)
	}
	if err := c.Call(ctx, "add", nil, nil); err == nil || !strings.Contains(err.Error(), "no argument") {
		t.Fatalf("add without argument: %v", err)
	}
	if err := c.Call(ctx, "nope", nil, nil); err == nil || err.Error() != `no such op "nope"` {
		t.Fatalf("handler error: %v", err)
	}
	// A frozen child does not answer until it is thawed.
	if err := syscall.Kill(c.Pid(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozen, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- c.Call(ctx, "add", []int{1}, nil) }()
	select {
	case err := <-errc:
		t.Fatalf("a frozen child answered: %v", err)
	case <-frozen.Done():
	}
	if err := syscall.Kill(c.Pid(), syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("call to a thawed child: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "call add\ncall iface\ncall add\ncall nope\ncall add\n" {
		t.Fatalf("child's stdout: %q", got)
	}
	if err := c.Call(ctx, "add", []int{1}, nil); !errors.Is(err, ErrChildExited) {
		t.Fatalf("call after Close: %v", err)
	}
}

func TestChildExitsOrHangs(t *testing.T) {
	ctx := context.Background()
	ns := NewT(t, "lbkc")
	c, err := ns.StartChild(ctx, ns.Helper("netns-child"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx, "exit", nil, nil); !errors.Is(err, ErrChildExited) || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("call that exits: %v", err)
	}
	if err := c.Close(); err == nil {
		t.Fatal("Close after exit status 3: no error")
	}

	// A child that never serves: the start's ctx ends it.
	cmd := ns.Command("sleep", "60")
	sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := ns.StartChild(sctx, cmd); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("start of a child that never serves: %v", err)
	}
	if cmd.ProcessState == nil {
		t.Fatal("child not reaped")
	}
}

func TestServeWithoutParent(t *testing.T) {
	if Serve(func(context.Context, Request) (any, error) { return nil, nil }) != 2 {
		t.Fatal("Serve without StartChild did not return 2")
	}
}
