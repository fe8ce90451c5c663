// A web app's view of licensehost: activate → status → consume. Node 18+ (fetch).
import { readFileSync } from "node:fs";
const base = process.env.LICENSEHOST_URL ?? "http://127.0.0.1:7474";
const token = readFileSync(process.env.LICENSEHOST_TOKEN_FILE, "utf8").trim();
const call = async (method, path, body) => {
  const res = await fetch(base + path, {
    method, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body && JSON.stringify(body),
  });
  return { code: res.status, ...(await res.json()) };
};
const key = process.argv[2];
if (key) {
  const a = await call("POST", "/api/sponsor/activate", { licenseKey: key });
  console.log(`activate: ${a.code} ${a.success ? a.status : a.message}`);
}
const s = await call("GET", "/api/sponsor/status");
console.log(`status: ${s.status} edition=${s.edition} limits=${JSON.stringify(s.limits)}`);
// Before creating 3 things, ask — the idempotency key makes a retry safe.
const q = await call("POST", "/api/quota/consume", { batch: 3, idempotencyKey: "order-42" });
console.log(q.allowed ? `consume: allowed, used ${q.used}` : `consume: refused (${q.reason})`);
process.exit(q.allowed ? 0 : 1);
