package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// benchProfiles are the pprof profiles a bench run writes, named as go test names them: where the
// client's CPU goes (--cpuprofile), where its goroutines wait for locks (--mutexprofile) and what
// it allocates (--memprofile). They cover the whole command, set-up, warm-up and the stored check
// included; the measured phase is most of any run of more than a few seconds.
type benchProfiles struct{ cpu, mutex, mem string }

// start creates the files (a path that cannot be written fails before anything runs), starts
// the CPU profile and records every mutex contention; stop writes the other profiles and closes
// every file, keeping the first error.
func (bp benchProfiles) start() (stop func() error, err error) {
	type out struct {
		f    *os.File
		kind string // pprof.Lookup name; "" for the CPU profile
	}
	var outs []out
	closeAll := func() {
		for _, o := range outs {
			o.f.Close()
		}
	}
	for _, p := range []struct{ path, kind, flag string }{{bp.cpu, "", "--cpuprofile"}, {bp.mutex, "mutex", "--mutexprofile"}, {bp.mem, "allocs", "--memprofile"}} {
		if p.path == "" {
			continue
		}
		f, err := os.Create(p.path)
		if err != nil {
			closeAll()
			return nil, usagef("bench: %s: %v", p.flag, err)
		}
		outs = append(outs, out{f, p.kind})
	}
	prevFraction := -1
	for _, o := range outs {
		switch o.kind {
		case "":
			if err := pprof.StartCPUProfile(o.f); err != nil {
				closeAll()
				return nil, fmt.Errorf("bench: --cpuprofile: %w", err)
			}
		case "mutex":
			prevFraction = runtime.SetMutexProfileFraction(1)
		}
	}
	return func() error {
		var errs []error
		for _, o := range outs {
			if o.kind == "" {
				pprof.StopCPUProfile()
			} else if err := pprof.Lookup(o.kind).WriteTo(o.f, 0); err != nil {
				errs = append(errs, fmt.Errorf("bench: writing the %s profile: %w", o.kind, err))
			}
			if err := o.f.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		if prevFraction >= 0 {
			runtime.SetMutexProfileFraction(prevFraction)
		}
		return errors.Join(errs...)
	}, nil
}
