package manifests

import (
	"bufio"
	"bytes"
	"time"
)

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

func secondsDuration[T ~int32 | ~int64](s T) time.Duration { return time.Duration(s) * time.Second }
