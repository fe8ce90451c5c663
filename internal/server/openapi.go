package server

import (
	"net/http"

	"github.com/licensehost/licensehost/api"
)

// openAPIDoc builds the OpenAPI 3 document of the local API. The test
// checks it lists exactly the routes the server serves.
func openAPIDoc(metrics bool) map[string]any {
	ref := func(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }
	jsonBody := func(schema map[string]any) map[string]any {
		return map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": schema}}}
	}
	resp := func(desc string, schema map[string]any) map[string]any {
		r := jsonBody(schema)
		r["description"] = desc
		return r
	}
	errResp := resp("error", ref("Error"))
	std := func(extra map[string]any) map[string]any {
		out := map[string]any{"401": errResp, "405": errResp}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	action := func(summary string, body map[string]any) map[string]any {
		op := map[string]any{
			"summary": summary,
			"responses": std(map[string]any{
				"200": resp("success", ref("ActionResponse")),
				"400": resp("bad input, refused before any remote call (e.g. Invalid license key format)", ref("ActionResponse")),
				"403": resp("the app token is read-only", ref("Error")),
				"409": resp("no license key is stored", ref("ActionResponse")),
				"422": resp("the license server rejected the request (remoteError carries its status and message)", ref("ActionResponse")),
				"502": resp("no trustworthy answer from the license server (down, timeout, 5xx, garbage)", ref("ActionResponse")),
			}),
		}
		if body != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": body}}}
		}
		return op
	}
	quota := func(summary string, body string) map[string]any {
		return map[string]any{
			"summary":     summary,
			"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": ref(body)}}},
			"responses": std(map[string]any{
				"200": resp("allowed", ref("QuotaResponse")),
				"403": resp("refused (reason says why)", ref("QuotaResponse")),
				"400": errResp,
			}),
		}
	}
	limits := map[string]any{"type": "object", "properties": map[string]any{
		"total": map[string]any{"type": "integer", "nullable": true, "description": "null means unlimited"},
		"batch": map[string]any{"type": "integer", "nullable": true, "description": "null means unlimited"},
	}}
	str := map[string]any{"type": "string"}
	num := map[string]any{"type": "number"}
	integer := map[string]any{"type": "integer"}
	boolean := map[string]any{"type": "boolean"}
	anyObj := map[string]any{"type": "object", "nullable": true, "additionalProperties": true}
	obj := func(props map[string]any, required ...string) map[string]any {
		o := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			o["required"] = required
		}
		return o
	}
	paths := map[string]any{
		api.PathHealthz: map[string]any{"get": map[string]any{"summary": "Liveness and readiness; no token needed", "security": []any{},
			"responses": map[string]any{"200": resp("ready", obj(map[string]any{"status": str})), "503": resp("starting", obj(map[string]any{"status": str}))}}},
		api.PathOpenAPI: map[string]any{"get": map[string]any{"summary": "This document", "responses": std(map[string]any{"200": resp("the OpenAPI document", anyObj)})}},
		api.PathStatus: map[string]any{"get": map[string]any{"summary": "Local license status; never calls the license server",
			"responses": std(map[string]any{"200": resp("status", ref("Status"))})}},
		api.PathMachineID: map[string]any{"get": map[string]any{"summary": "This machine's code",
			"responses": std(map[string]any{"200": resp("machine code", obj(map[string]any{"machineId": str}))})}},
		api.PathActivate:     map[string]any{"post": action("Verify a license key with the license server and store it", obj(map[string]any{"licenseKey": str}, "licenseKey"))},
		api.PathHeartbeat:    map[string]any{"post": action("Re-verify the stored key now (manual refresh)", nil)},
		api.PathClear:        map[string]any{"post": action("Delete the stored license; back to community", nil)},
		api.PathSwitchDevice: map[string]any{"post": action("Move the license to another machine code", obj(map[string]any{"newMachineId": str, "reason": str}, "newMachineId"))},
		api.PathQuotaCheck:   map[string]any{"post": quota("May batch more items be created now? (writes nothing)", "QuotaCheckRequest")},
		api.PathQuotaConsume: map[string]any{"post": quota("Atomically check and count batch items; durable before it answers", "QuotaConsumeRequest")},
		api.PathEvents: map[string]any{"get": map[string]any{"summary": "The event log, newest first",
			"parameters": []any{map[string]any{"name": "limit", "in": "query", "schema": integer}},
			"responses":  std(map[string]any{"200": resp("events", obj(map[string]any{"events": map[string]any{"type": "array", "items": anyObj}}))})}},
		api.PathPolicyReload: map[string]any{"post": map[string]any{"summary": "Reload the policy directory; a bad module is refused and the previous policies stay",
			"responses": std(map[string]any{"200": resp("reloaded", obj(map[string]any{"success": boolean})), "409": errResp, "422": errResp})}},
	}
	paths[api.PathSession] = sessionOpenAPI(resp, errResp)
	if metrics {
		paths[api.PathMetrics] = map[string]any{"get": map[string]any{"summary": "Prometheus metrics (text format)",
			"responses": std(map[string]any{"200": map[string]any{"description": "metrics", "content": map[string]any{"text/plain": map[string]any{"schema": str}}}})}}
	}
	activationPaths(paths, resp, std, ref, jsonBody, obj)
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "licensehost local API", "version": "1",
			"description": "Local HTTP API of the licensehost daemon. Every route but /healthz needs Authorization: Bearer <token>."},
		"servers":  []any{map[string]any{"url": "http://" + api.DefaultListen}},
		"security": []any{map[string]any{"bearer": []any{}}},
		"paths":    paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas": map[string]any{
				"Error":       obj(map[string]any{"success": boolean, "error": str, "message": str}),
				"Activation":  activationSchema(obj),
				"Limits":      limits,
				"RemoteError": obj(map[string]any{"httpStatus": integer, "data": anyObj, "message": str}),
				"ActionResponse": obj(map[string]any{
					"success": boolean, "status": str, "license": anyObj, "message": str,
					"remoteError": ref("RemoteError"), "fallback": obj(map[string]any{"isSponsored": boolean, "status": str}),
					"definitive": boolean, "graceDays": num, "trustDays": num,
				}),
				"Status": obj(map[string]any{
					"machineId": str, "edition": str, "licenseKey": str, "status": str, "isSponsored": boolean, "reason": str,
					"graceDaysLeft": num, "graceEndsAt": str, "trustEndsAt": str, "expiresAt": str, "limits": ref("Limits"),
					"usage": obj(map[string]any{"total": integer}), "lastRefresh": anyObj, "license": anyObj,
					"trustDays": num, "graceDays": num, "consecutiveFailures": integer, "switchedTo": str, "policy": str, "remoteVerifiedAt": str,
				}),
				"QuotaCheckRequest":   obj(map[string]any{"batch": integer, "used": integer, "resource": str}, "batch"),
				"QuotaConsumeRequest": obj(map[string]any{"batch": integer, "idempotencyKey": str, "resource": str}, "batch"),
				"QuotaResponse": obj(map[string]any{"allowed": boolean, "reason": str, "message": str, "limits": ref("Limits"),
					"used": integer, "policy": str, "replayed": boolean}),
			},
		},
	}
}

func (s *Server) openapi(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, s.doc)
	return nil
}
