package jsonvalue

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// ErrTrailingData is Decode's error for data after the top-level value.
var ErrTrailingData = errors.New("invalid JSON: data after the top-level value")

// Decode decodes the one JSON value data holds (whitespace around it is
// allowed) into maps, slices, strings, bools, nil and json.Number.
func Decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, ErrTrailingData
	}
	return v, nil
}
