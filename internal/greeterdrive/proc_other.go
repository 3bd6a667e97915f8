//go:build !linux

package greeterdrive

import "syscall"

func childAttr() *syscall.SysProcAttr { return nil }
