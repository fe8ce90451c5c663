package server

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/licensehost/licensehost/internal/mask"
)

// maskLicenseJSON returns raw (a license object or a whole server answer)
// with every "licenseKey" string at any depth replaced by its masked form and
// every other string holding one of keys redacted. Answers of this API never
// carry a full license key, whatever the token (docs/api.md): the top-level
// licenseKey was always masked, the license object inside is masked the same
// way. raw that is not JSON is returned as null.
func maskLicenseJSON(raw json.RawMessage, keys ...string) json.RawMessage {
	if len(raw) == 0 {
		return raw
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return json.RawMessage("null")
	}
	out, err := json.Marshal(maskValue(v, false, keys))
	if err != nil {
		return json.RawMessage("null")
	}
	return out
}

func maskValue(v any, isKey bool, keys []string) any {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			t[k] = maskValue(val, strings.EqualFold(k, "licenseKey"), keys)
		}
		return t
	case []any:
		for i, val := range t {
			t[i] = maskValue(val, false, keys)
		}
		return t
	case string:
		if isKey {
			return mask.Key(t)
		}
		return mask.Redact(t, keys...)
	}
	return v
}
