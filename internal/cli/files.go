package cli

import (
	"io"
	"os"
)

// ReadFileArg reads the file a command line names, "-" meaning stdin, up
// to max bytes plus one: the caller can tell an oversized file (and refuse
// it as such) from one cut at max. (The activation commands of licensehost
// and licensed read request, activation and receipt files with it.)
func ReadFileArg(path string, max int64) ([]byte, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	return io.ReadAll(io.LimitReader(r, max+1))
}

// WriteFileArg writes content to the file a command line names (made with
// mode), or to w when the name is empty or "-".
func WriteFileArg(w io.Writer, path, content string, mode os.FileMode) error {
	if path == "" || path == "-" {
		_, err := io.WriteString(w, content)
		return err
	}
	return os.WriteFile(path, []byte(content), mode)
}
