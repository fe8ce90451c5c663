//go:build !linux

package e2etest

import "syscall"

func daemonAttr() *syscall.SysProcAttr { return nil }
