package bgptest

import gobgplog "github.com/osrg/gobgp/v3/pkg/log"

// discardLogger drops GoBGP's logs. GoBGP's Fatal and Panic do not exit or
// panic: a test helper must not kill the test binary.
type discardLogger struct{}

func (discardLogger) Panic(string, gobgplog.Fields) {}
func (discardLogger) Fatal(string, gobgplog.Fields) {}
func (discardLogger) Error(string, gobgplog.Fields) {}
func (discardLogger) Warn(string, gobgplog.Fields)  {}
func (discardLogger) Info(string, gobgplog.Fields)  {}
func (discardLogger) Debug(string, gobgplog.Fields) {}
func (discardLogger) SetLevel(gobgplog.LogLevel)    {}
func (discardLogger) GetLevel() gobgplog.LogLevel   { return gobgplog.PanicLevel }
