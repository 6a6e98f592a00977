package generate

import "errors"

// ErrInvalid is matched (errors.Is) by every error that a user's input
// causes: an environment that does not validate, a file Vigil refuses to
// read, a set of environments that cannot render together. Errors that do
// not match it and are not I/O errors are Vigil's own bugs; the CLI maps the
// two to different exit codes so that CI can tell them apart.
var ErrInvalid = errors.New("invalid input")

// inputError marks err as caused by the user's input.
type inputError struct{ error }

func (e inputError) Unwrap() error        { return e.error }
func (e inputError) Is(target error) bool { return target == ErrInvalid }

// invalid marks err as caused by the user's input; nil stays nil.
func invalid(err error) error {
	if err == nil {
		return nil
	}
	return inputError{err}
}

// Is makes Diagnostics match ErrInvalid.
func (ds Diagnostics) Is(target error) bool { return target == ErrInvalid }
