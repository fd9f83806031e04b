package netns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Child processes: lbkit code that must run inside a namespace (GoBGP's
// sockets, raw ARP/NDP sockets) runs in a child process, the running program
// re-executed under `ip netns exec` (NS.Helper), because setns on one locked
// thread does not reach the threads of other goroutines. The parent starts
// the child with NS.StartChild and drives it with Child.Call; the child
// answers with Serve. Calls and answers are JSON values, one per line, on
// file descriptors 3 (calls) and 4 (answers), so that the child's stdout and
// stderr stay free for its output and logs.

const (
	callsFD   = 3
	answersFD = 4
	childEnv  = "LBKIT_NETNS_CHILD" // set by StartChild: descriptors 3 and 4 are the connection
)

// ErrChildExited reports that a child exited, or closed its end, before it
// answered.
var ErrChildExited = errors.New("netns: child exited")

// A Request is one call, as the child's handler sees it.
type Request struct {
	Op  string          // what to do
	Arg json.RawMessage `json:",omitempty"` // the call's argument, JSON
}

// Decode decodes the call's argument into v.
func (r Request) Decode(v any) error {
	if len(r.Arg) == 0 {
		return fmt.Errorf("netns: %s: no argument", r.Op)
	}
	return json.Unmarshal(r.Arg, v)
}

type answer struct {
	Result json.RawMessage `json:",omitempty"`
	Err    string          `json:",omitempty"`
}

// Serve answers the parent's calls with handle until the parent closes the
// connection (Child.Close), and returns the exit status for os.Exit: 0 then,
// 1 if the connection broke, 2 if this process was not started by
// StartChild. The handler's result is sent as JSON; its error as its text.
// Serve first tells the parent that the child is ready, so set up what the
// calls need before calling it.
func Serve(handle func(ctx context.Context, req Request) (any, error)) int {
	if os.Getenv(childEnv) == "" {
		fmt.Fprintln(os.Stderr, "netns: Serve: not started by StartChild")
		return 2
	}
	calls, answers := os.NewFile(callsFD, "netns-calls"), os.NewFile(answersFD, "netns-answers")
	// Processes the child starts must not inherit the connection.
	syscall.CloseOnExec(callsFD)
	syscall.CloseOnExec(answersFD)
	dec, enc := json.NewDecoder(calls), json.NewEncoder(answers)
	if err := enc.Encode(answer{}); err != nil { // ready
		return 1
	}
	ctx := context.Background()
	for {
		var req Request
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return 0
			}
			fmt.Fprintln(os.Stderr, "netns: Serve:", err)
			return 1
		}
		if err := enc.Encode(serveOne(ctx, handle, req)); err != nil {
			return 1
		}
	}
}

func serveOne(ctx context.Context, handle func(context.Context, Request) (any, error), req Request) answer {
	res, err := handle(ctx, req)
	if err == nil && res != nil {
		var a answer
		if a.Result, err = json.Marshal(res); err == nil {
			return a
		}
	}
	if err != nil {
		return answer{Err: err.Error()}
	}
	return answer{}
}

// A Child is a process started by StartChild that answers calls. Calls are
// serialized; Kill and Close may be called from any goroutine.
type Child struct {
	ns      *NS
	cmd     *exec.Cmd
	calls   io.WriteCloser
	answers <-chan answer // closed when the child closes its end
	stop    sync.Once

	mu  sync.Mutex // serializes calls
	enc *json.Encoder
}

// StartChild starts cmd, a command from Helper with its Stdout and Stderr
// set as the caller wants them, and waits until the child calls Serve.
// ctx bounds the start only; the child runs until Close or Kill (or
// Delete of ns).
func (ns *NS) StartChild(ctx context.Context, cmd *exec.Cmd) (*Child, error) {
	callsR, callsW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	answersR, answersW, err := os.Pipe()
	if err != nil {
		callsR.Close()
		callsW.Close()
		return nil, err
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, childEnv+"=1")
	// ExtraFiles[i] becomes descriptor 3+i in the child.
	cmd.ExtraFiles = append([]*os.File{callsR, answersW}, cmd.ExtraFiles...)
	err = ns.Start(cmd)
	callsR.Close()
	answersW.Close()
	if err != nil {
		callsW.Close()
		answersR.Close()
		return nil, err
	}
	answers := make(chan answer)
	go readAnswers(answersR, answers)
	c := &Child{ns: ns, cmd: cmd, calls: callsW, answers: answers, enc: json.NewEncoder(callsW)}
	if _, err := c.await(ctx); err != nil {
		c.Kill()
		return nil, fmt.Errorf("netns %s: child %v did not start: %w", ns.name, cmd.Args, err)
	}
	return c, nil
}

func readAnswers(r io.ReadCloser, out chan<- answer) {
	defer close(out)
	defer r.Close()
	dec := json.NewDecoder(r)
	for {
		var a answer
		if dec.Decode(&a) != nil {
			return
		}
		out <- a
	}
}

// await returns the next answer. If ctx ends first, it kills the child.
func (c *Child) await(ctx context.Context) (answer, error) {
	select {
	case a, ok := <-c.answers:
		if !ok {
			return answer{}, c.exitError()
		}
		return a, nil
	case <-ctx.Done():
		c.Kill()
		return answer{}, ctx.Err()
	}
}

// exitError reports the child's exit, after waiting for it.
func (c *Child) exitError() error {
	c.Kill() // it has closed its end: reap it
	if ps := c.cmd.ProcessState; ps != nil {
		return fmt.Errorf("%w (%v)", ErrChildExited, ps)
	}
	return ErrChildExited
}

// Call asks the child to run op with arg (encoded as JSON; nil for none)
// and decodes the handler's result into result (unless it is nil). An error
// returned by the handler comes back as an error with its text. If ctx ends
// before the answer, Call kills the child and returns ctx.Err().
func (c *Child) Call(ctx context.Context, op string, arg, result any) error {
	req := Request{Op: op}
	if arg != nil {
		b, err := json.Marshal(arg)
		if err != nil {
			return fmt.Errorf("netns: call %s: %w", op, err)
		}
		req.Arg = b
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enc.Encode(req); err != nil {
		return fmt.Errorf("netns: call %s: %w: %v", op, ErrChildExited, err)
	}
	a, err := c.await(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("netns: call %s: %w", op, err)
	case a.Err != "":
		return errors.New(a.Err)
	case result != nil && len(a.Result) > 0:
		return json.Unmarshal(a.Result, result)
	}
	return nil
}

// Close ends the child: it closes the connection, so that the child's
// Serve returns and the child cleans up and exits; a child that has not
// exited after 10 s is killed. Close reports how the child exited.
// Closing twice is harmless.
func (c *Child) Close() error {
	c.calls.Close()
	select {
	case <-drain(c.answers):
	case <-time.After(10 * time.Second):
	}
	c.Kill()
	if ps := c.cmd.ProcessState; ps != nil && !ps.Success() {
		return fmt.Errorf("netns %s: child %v: %v", c.ns.name, c.cmd.Args, ps)
	}
	return nil
}

// drain discards answers until the child closes its end.
func drain(answers <-chan answer) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		for range answers {
		}
		close(done)
	}()
	return done
}

// Pid returns the child's process id, for signals such as SIGSTOP that
// freeze it.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Kill stops the child at once (its whole process group, by pid) and waits
// for it. Killing twice is harmless.
func (c *Child) Kill() {
	c.stop.Do(func() {
		c.calls.Close()
		c.ns.Stop(c.cmd)
	})
}
