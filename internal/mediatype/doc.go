// Package mediatype reads the media type of a Content-Type value — what
// decides whether the gateway may decode, reshape or compress an answer —
// without parsing its parameters.
package mediatype
