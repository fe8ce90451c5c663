// Package engine is the domain core of licensehost: the local license record,
// the trust/grace state machine (docs/engine.md), verification against the remote
// license server through the RemoteClient seam, device switching, and quota
// decisions through the Policy seam.
//
// The engine never reads the wall clock (a Clock is injected), never imports a
// storage engine (a Store is injected) and never serves HTTP. Data flows one
// way: HTTP/CLI/tray → engine → (Store, RemoteClient, Policy).
package engine
