package fileerr

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Error is one problem in a configuration file.
type Error struct {
	// File is the name given to Parse (the path given to Load).
	File string
	// Line and Column are 1-based; Line is 0 when the position is unknown.
	Line, Column int
	// Path is the key path of the offending value, e.g. routes[1].upstream;
	// empty for problems with the document as a whole.
	Path string
	// Message says what is wrong.
	Message string
}

// Error formats e as "file:line:col: path: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Read reads a configuration file. A failure reads "path: reason" (the
// os.PathError's own wording would name the operation and path again).
func Read(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}
