package consumer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-yaml"
)

// File is a Memory loaded from a YAML file:
//
//	consumers:
//	  - id: alice
//	    api_keys: [{id: alice-cli, sha256: <hex>}]
//
// Reload reads the file again and Watch does so when it changes. A file
// with any problem is refused as a whole and the consumers in force stay,
// so a half-edited file never locks everyone out.
type File struct {
	*Memory
	path string

	mu      sync.Mutex
	hash    [32]byte // of the content in force
	badHash [32]byte // of the last content refused
}

// fileDoc is the file's document.
type fileDoc struct {
	Consumers []Consumer `yaml:"consumers"`
}

// LoadFile reads the consumers file at path.
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	list, err := ParseFile(path, data)
	if err != nil {
		return nil, err
	}
	m, err := NewMemory(list)
	if err != nil {
		return nil, prefixLines(path, err)
	}
	return &File{Memory: m, path: path, hash: sha256.Sum256(data)}, nil
}

// ParseFile parses and validates a consumers document; name is used in
// error messages ("name:line:col: message" for syntax and unknown keys,
// "name: consumers[i].key: message" for invalid values).
func ParseFile(name string, data []byte) ([]Consumer, error) {
	var doc fileDoc
	dec := yaml.NewDecoder(bytes.NewReader(data), yaml.Strict(), yaml.DisallowUnknownField())
	if err := dec.Decode(&doc); err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) && ye.GetToken() != nil {
			tk := ye.GetToken()
			return nil, fmt.Errorf("%s:%d:%d: %s", name, tk.Position.Line, tk.Position.Column, ye.GetMessage())
		}
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: the file is empty: expected a mapping with a consumers list", name)
		}
		return nil, fmt.Errorf("%s: %v", name, firstLine(err.Error()))
	}
	if err := Validate(doc.Consumers); err != nil {
		return nil, prefixLines(name, err)
	}
	return doc.Consumers, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// prefixLines puts "name: " before every line of err.
func prefixLines(name string, err error) error {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = name + ": " + l
	}
	return errors.New(strings.Join(lines, "\n"))
}

// Path returns the file's path.
func (f *File) Path() string { return f.path }

// Reload reads the file again and applies it if its content changed. It
// reports whether it applied a new content; on error the consumers in
// force stay.
func (f *File) Reload() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	data, err := os.ReadFile(f.path)
	if err != nil {
		return false, err
	}
	h := sha256.Sum256(data)
	if h == f.hash {
		return false, nil
	}
	list, err := ParseFile(f.path, data)
	if err == nil {
		err = f.Replace(list)
	}
	if err != nil {
		f.badHash = h
		return false, err
	}
	f.hash, f.badHash = h, [32]byte{}
	return true, nil
}

// Watch reloads the file every interval until ctx ends, logging what it
// applies and (once per bad content) what it refuses. It polls the
// content rather than using inotify: a Kubernetes ConfigMap update swaps a
// symlink, which inotify watches on the file miss.
func (f *File) Watch(ctx context.Context, every time.Duration, logger *slog.Logger) {
	if logger == nil {
		logger = slog.Default()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f.mu.Lock()
		data, rerr := os.ReadFile(f.path)
		skip := rerr != nil || sha256.Sum256(data) == f.badHash
		f.mu.Unlock()
		if skip {
			continue // unreadable mid-replace, or already refused: wait for a change
		}
		changed, err := f.Reload()
		switch {
		case err != nil:
			logger.Error("consumers file refused; the consumers in force stay", "file", f.path, "err", err.Error())
		case changed:
			logger.Info("consumers reloaded", "file", f.path, "consumers", len(f.List()))
		}
	}
}
