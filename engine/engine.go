package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/licensehost/licensehost/internal/licapi"
	"github.com/licensehost/licensehost/internal/mask"
)

// Options wires an Engine.
type Options struct {
	Store     Store        // required
	Remote    RemoteClient // required
	Clock     Clock        // required
	Policy    Policy       // nil: Builtin
	Config    Config       // validated by New
	MachineID string       // this machine's code, required
	Signals   map[string]string
	Logger    *slog.Logger // nil: discard
	// Observer, when set, is told of every remote call and quota decision
	// (for metrics). It must not block.
	Observer Observer
	// Product is the product file's content (docs/features.md); the zero
	// Product when none was given.
	Product Product
	// Features keeps feature licensing state; nil: Store, when it
	// implements FeatureStore. Required with a Product.
	Features FeatureStore
	// OpWait bounds how long a remote-backed operation waits for the one
	// running before it (ErrBusy after); 0 means DefaultOpWait.
	OpWait time.Duration
	// SealKey is the installation secret the record is sealed with (an
	// HMAC key, docs/reliability.md); nil: records are not sealed.
	SealKey []byte
	// SealKeyNew tells that SealKey was created at this start: a record
	// without a seal is then one of an earlier version, sealed by
	// CheckIntegrity, rather than a tampered one.
	SealKeyNew bool
	// Proofs, with a pinned server key, re-checks the signed answers kept
	// in the record; nil: none are checked.
	Proofs ProofChecker
}

// DefaultOpWait is Options.OpWait's default: two default remote timeouts.
const DefaultOpWait = 30 * time.Second

// Observer receives operational facts for metrics.
type Observer interface {
	RemoteCall(kind string, d time.Duration, err error, res RemoteResult)
	QuotaDecision(d QuotaDecision, fallback bool)
}

// Engine runs the license operations. It is safe for concurrent use; remote
// operations (activate, heartbeat, switch, clear) are serialised so two of
// them never interleave their record updates.
type Engine struct {
	store     Store
	remote    RemoteClient
	clock     Clock
	policy    Policy
	cfg       Config
	machineID string
	signals   map[string]string
	log       *slog.Logger
	obs       Observer
	product   Product
	featStore FeatureStore // nil: no feature licensing state
	preMu     sync.Mutex
	featMu    sync.Mutex   // serialises feature state writes (features_engine.go)
	preCache  PreauthState // see preauthState
	preCached bool

	opSem  chan struct{} // a one-slot semaphore serialising remote-backed operations
	opWait time.Duration

	hbMu     sync.Mutex
	hbFlight *flight // the heartbeat in progress, joined by concurrent callers

	// seenHigh is the latest wall-clock reading this process has seen, to
	// within seenStep (see now); read and moved without a lock, since every
	// quota check reads it and moves it.
	seenHigh atomic.Pointer[time.Time]
	offline  OfflineSource // activation files' licenses; nil: none (SetOffline)

	sealKey    []byte
	sealLegacy atomic.Bool // an unsealed record is an earlier version's (until CheckIntegrity)
	proofs     ProofChecker
	proofMu    sync.Mutex
	proofCache map[string]ProvenAnswer

	loaded atomic.Pointer[loadedRecord]  // the last record loaded (recordcache.go)
	fields atomic.Pointer[licenseFields] // the last license's custom fields (quota.go)
	grants atomic.Pointer[loadedGrants]  // the stored grants (recordcache.go)
}

// New checks the options and returns an Engine.
func New(o Options) (*Engine, error) {
	switch {
	case o.Store == nil:
		return nil, errors.New("engine: a Store is required")
	case o.Remote == nil:
		return nil, errors.New("engine: a RemoteClient is required")
	case o.Clock == nil:
		return nil, errors.New("engine: a Clock is required")
	case !ValidMachineID(o.MachineID):
		return nil, fmt.Errorf("engine: machine code %q: %w", o.MachineID, ErrInvalidMachineID)
	}
	if err := o.Config.Validate(); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	if err := featureSetup(&o); err != nil {
		return nil, err
	}
	if o.Policy == nil {
		o.Policy = Builtin{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.OpWait <= 0 {
		o.OpWait = DefaultOpWait
	}
	e := &Engine{
		store: o.Store, remote: o.Remote, clock: o.Clock, policy: o.Policy, cfg: o.Config,
		machineID: o.MachineID, signals: maps.Clone(o.Signals), log: o.Logger, obs: o.Observer,
		product: o.Product, featStore: o.Features,
		opSem: make(chan struct{}, 1), opWait: o.OpWait,
		sealKey: bytes.Clone(o.SealKey), proofs: o.Proofs, proofCache: map[string]ProvenAnswer{},
	}
	e.sealLegacy.Store(o.SealKeyNew)
	return e, nil
}

// lockOp waits for the operation slot at most Options.OpWait, or until ctx
// is done; ErrBusy then. A caller queued behind a hanging license server
// call thus gets an answer instead of none.
func (e *Engine) lockOp(ctx context.Context) error {
	select {
	case e.opSem <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(e.opWait)
	defer t.Stop()
	select {
	case e.opSem <- struct{}{}:
		return nil
	case <-t.C:
		return fmt.Errorf("%w (waited %v)", ErrBusy, e.opWait)
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	}
}

func (e *Engine) unlockOp() { <-e.opSem }

// flight is one heartbeat shared by the callers that asked meanwhile.
type flight struct {
	done chan struct{}
	res  ActionResult
	err  error
}

// Config returns the engine's configuration.
func (e *Engine) Config() Config { return e.cfg }

// MachineID returns this machine's code.
func (e *Engine) MachineID() string { return e.machineID }

// seenStep is how far the clock must run past seenHigh before now moves
// it: a mark a millisecond behind changes no answer (the clock tolerance is
// minutes), and a busy host then moves it once a millisecond, not at every
// request.
const seenStep = time.Millisecond

// now reads the clock and remembers the highest reading of this process,
// by wall-clock time: a clock turned back while the process runs leaves
// the mark where it was, as a restart does (the persisted mark).
func (e *Engine) now() time.Time {
	t := e.clock.Now()
	wall := t.Round(0) // the reading without its monotonic part
	for {
		seen := e.seenHigh.Load()
		if seen != nil && !wall.After(seen.Add(seenStep)) {
			return t
		}
		if e.seenHigh.CompareAndSwap(seen, &wall) {
			return t
		}
	}
}

func (e *Engine) highWater(rec Record) time.Time {
	if seen := e.seenHigh.Load(); seen != nil && seen.After(rec.ClockHighWater) {
		return *seen
	}
	return rec.ClockHighWater
}

// highWaterStep is how far the clock may run past the persisted high-water
// mark before an answer that depends on the time writes the mark first: the
// clock tolerance, at least one second. A crash therefore loses at most this
// much of the clock's progress (docs/engine.md).
func (e *Engine) highWaterStep() time.Duration {
	return max(e.cfg.ClockTolerance, time.Second)
}

// current reads the clock and the record and makes the high-water mark
// durable before the caller answers with it: when the latest clock reading
// is more than highWaterStep past the persisted mark, the mark is written
// first. Without this a kill -9 after a clock jump forgets the jump, and a
// clock turned back after the restart would extend trust.
func (e *Engine) current(ctx context.Context) (Record, time.Time, error) {
	now := e.now()
	rec, err := e.load(ctx)
	if err != nil {
		return rec, now, err
	}
	if e.highWater(rec).Sub(rec.ClockHighWater) <= e.highWaterStep() {
		return rec, now, nil
	}
	err = e.update(ctx, func(r *Record) ([]Event, error) {
		if hw := e.highWater(*r); hw.After(r.ClockHighWater) {
			r.ClockHighWater = hw
		}
		return nil, nil
	})
	if err != nil {
		return rec, now, err
	}
	rec, err = e.load(ctx)
	return rec, now, err
}

// update is the engine's only way to write the record. A record found to
// disagree with its seal or proofs is flagged tampered before fn sees it
// (with a record_tampered event), and every record written is sealed.
func (e *Engine) update(ctx context.Context, fn func(*Record) ([]Event, error)) error {
	var found string
	err := e.store.Update(ctx, func(r *Record) ([]Event, error) {
		found = ""
		var evs []Event
		if r.Tampered == "" {
			if why := e.integrity(*r); why != "" {
				found, r.Tampered = why, why
				evs = append(evs, Event{At: e.effectiveNow(*r, e.now()), Kind: EventTampered,
					Message: "license record tampered with: " + why + "; community limits until a successful verification or a clear"})
			}
		}
		more, err := fn(r)
		if err != nil {
			return nil, err
		}
		r.SchemaVersion = SchemaVersion
		if e.sealKey != nil {
			r.Seal = e.sealOf(*r)
		}
		return append(evs, more...), nil
	})
	if err == nil && found != "" {
		e.log.Error("the license record was tampered with; running as community until a successful verification or a clear", "why", found)
	}
	return err
}

// effectiveNow is the time computed with for rec: the clock, or the
// high-water mark when the clock reads earlier.
func (e *Engine) effectiveNow(rec Record, now time.Time) time.Time {
	return EffectiveNow(now, e.highWater(rec))
}

// evaluate computes the live evaluation of rec, using the in-process
// high-water mark as well as the persisted one.
func (e *Engine) evaluate(rec Record, now time.Time) Evaluation {
	r := rec
	r.ClockHighWater = e.highWater(rec)
	ev := Evaluate(r, e.cfg, e.machineID, now)
	ev.ClockBehind = now.Before(r.ClockHighWater.Add(-e.cfg.ClockTolerance))
	return ev
}

// StatusView is a local-only snapshot of the installation.
type StatusView struct {
	Record     Record
	Evaluation Evaluation
	Usage      int64
	MachineID  string
	Features   FeatureEvaluation // every known feature (docs/features.md)
}

// Status evaluates the stored record. It is local only: it never calls the
// remote server, and writes only the clock high-water mark (see current).
func (e *Engine) Status(ctx context.Context) (StatusView, error) {
	rec, now, err := e.current(ctx)
	if err != nil {
		return StatusView{}, err
	}
	used, err := e.store.Usage(ctx, "")
	if err != nil {
		return StatusView{}, err
	}
	ev := e.evaluate(rec, now)
	fe, err := e.features(ctx, rec, ev, now)
	if err != nil {
		return StatusView{}, err
	}
	if _, lim, ok, err := e.offlineLimits(ctx, ev); err != nil {
		return StatusView{}, err
	} else if ok {
		ev.Limits = lim // an activation file in force sets the quotas (docs/activation-files.md)
	}
	return StatusView{Record: rec, Evaluation: ev, Usage: used, MachineID: e.machineID, Features: fe}, nil
}

// ActionResult is the outcome of a remote-backed operation. Remote failures
// are results, not errors: Success is false and RemoteError says why. The
// error return is kept for local failures (bad input, storage).
type ActionResult struct {
	Success     bool
	Evaluation  Evaluation      // the status after the operation
	License     *licapi.License // the license of the answer, when it carried one
	Message     string          // the server's message, or why the call failed
	RemoteError *RemoteError
}

// remoteOutcome turns a RemoteClient answer into a result or a RemoteError.
func remoteOutcome(res RemoteResult, err error) (RemoteResult, *RemoteError) {
	if err != nil {
		if re, ok := AsRemoteError(err); ok {
			return res, re
		}
		return res, &RemoteError{Message: err.Error(), Err: err, Data: json.RawMessage("null")}
	}
	if !res.Success {
		data := res.Body
		if len(data) == 0 {
			data = json.RawMessage("null")
		}
		return res, &RemoteError{HTTPStatus: res.HTTPStatus, Data: data, Message: res.Message, Definitive: true}
	}
	return res, nil
}

// callRemote makes one remote call, reports it to the observer, and splits
// the outcome into a trustworthy result or a RemoteError. It returns the
// time after the call, for the record update that follows.
func (e *Engine) callRemote(kind string, call func() (RemoteResult, error)) (RemoteResult, *RemoteError, time.Time) {
	start := e.now()
	res, err := call()
	now := e.now()
	if e.obs != nil {
		e.obs.RemoteCall(kind, now.Sub(start), err, res)
	}
	res, re := remoteOutcome(res, err)
	return res, re, now
}

// judgeAnswer refuses an acceptance that is not about the key that was sent:
// a license object naming another key (a proxy that swapped the request's
// key for another valid one gets a genuinely signed answer for that key).
// Such an answer is no trustworthy answer for this key: a transient failure.
func judgeAnswer(key string, res RemoteResult, re *RemoteError) *RemoteError {
	if re != nil || res.License == nil || res.License.LicenseKey == "" || SameLicenseKey(string(res.License.LicenseKey), key) {
		return re
	}
	return &RemoteError{
		HTTPStatus: res.HTTPStatus,
		Data:       json.RawMessage("null"),
		Message:    fmt.Sprintf("the license server's answer is about another license key (%s, not %s); ignored", mask.Key(string(res.License.LicenseKey)), mask.Key(key)),
	}
}

// settle finishes a remote-backed operation after its record update: it
// logs the outcome and evaluates the status the caller now sees.
func (e *Engine) settle(ctx context.Context, op, key string, re *RemoteError, out ActionResult, now time.Time, updateErr error) (ActionResult, error) {
	if updateErr != nil {
		return ActionResult{}, updateErr
	}
	e.logRemote(op, key, re)
	return e.finish(ctx, out, now)
}

// applySuccess writes a successful verification into rec.
func (e *Engine) applySuccess(rec *Record, key string, res RemoteResult, kind string, now time.Time) {
	at := e.verifiedAt(*rec, now, res)
	sameKey := rec.LicenseKey == key && !rec.RemoteVerifiedAt.IsZero() && rec.Tampered == ""
	keepProofs(rec, res, sameKey)
	rec.Tampered = ""
	rec.SchemaVersion = SchemaVersion
	rec.LicenseKey = key
	rec.MachineID = e.machineID
	if res.Token != "" {
		rec.VerificationToken = res.Token
	}
	rec.RemoteVerifiedAt = at
	rec.LocalVerifiedAt = at
	rec.ConsecutiveFailures = 0
	rec.FirstFailureAt = time.Time{}
	rec.LastRemoteErrorMessage, rec.LastRemoteErrorHTTPStatus, rec.LastRemoteErrorTime = "", 0, time.Time{}
	rec.SwitchedToMachineID, rec.DeviceSwitchRequestedAt = "", time.Time{}
	if res.License == nil && !sameKey {
		// An acceptance without a license object for a key other than the
		// one that stood: nothing of the previous key's license applies.
		rec.License, rec.LastLicenseTypeName, rec.LimitTotal, rec.LimitBatch, rec.ExpiresAt = nil, "", nil, nil, time.Time{}
	}
	if lic := res.License; lic != nil {
		rec.License = append(json.RawMessage(nil), lic.Raw...)
		rec.LastLicenseTypeName = string(lic.LicenseTypeName)
		if rec.LastLicenseTypeName == "" {
			rec.LastLicenseTypeName = string(lic.LicenseTypeDisplayName)
		}
		rec.LimitTotal = ParseLimit(string(lic.CustomField1))
		rec.LimitBatch = ParseLimit(string(lic.CustomField2))
		rec.ExpiresAt = lic.ExpiresAt.Time
	}
	if len(e.signals) > 0 {
		rec.Signals = maps.Clone(e.signals)
	}
	// A success re-anchors the high-water mark at the verification time:
	// when the server's time confirmed the clock, a mark left by a clock
	// once set too far ahead heals here (see verifiedAt).
	rec.ClockHighWater = at
	anchor := at.Round(0)
	e.seenHigh.Store(&anchor)
	rec.LastRefresh = Refresh{Kind: kind, Success: true, HTTPStatus: res.HTTPStatus, Message: res.Message, At: at}
}

// serverTimeAgreement is how close the server's time must be to the clock
// for the server to vouch for the clock.
const serverTimeAgreement = 10 * time.Minute

// verifiedAt is the time a success is recorded at (S). Normally the clock.
// When the clock reads earlier than the high-water mark (beyond the
// tolerance), either the clock was turned back — then S is the mark, so that
// correcting the clock later does not age the verification — or the mark is
// left over from a clock once set too far ahead, which the server's own time
// tells: when the answer's server time agrees with the clock, the clock is
// right and S is the clock (the mark heals).
func (e *Engine) verifiedAt(rec Record, now time.Time, res RemoteResult) time.Time {
	hw := e.highWater(rec)
	if !now.Before(hw.Add(-e.cfg.ClockTolerance)) {
		return EffectiveNow(now, hw)
	}
	if st := res.ServerTime; !st.IsZero() && st.Sub(now).Abs() <= serverTimeAgreement && hw.Sub(st) > serverTimeAgreement {
		return now
	}
	return hw
}

// applyFailure records a failed call for display, at the effective time.
func (e *Engine) applyFailure(rec *Record, re *RemoteError, kind string, now time.Time) {
	now = e.effectiveNow(*rec, now)
	rec.LastRemoteErrorMessage = re.Message
	rec.LastRemoteErrorHTTPStatus = re.HTTPStatus
	rec.LastRemoteErrorTime = now
	rec.LastRefresh = Refresh{Kind: kind, Success: false, HTTPStatus: re.HTTPStatus, Message: re.Message, At: now}
	if now.After(rec.ClockHighWater) {
		rec.ClockHighWater = now
	}
}

// Activate verifies key with the remote server and, when it verifies, stores
// it as this installation's license. It is transactional (docs/engine.md): when a
// verified license already stands, a failing key leaves it, its status and its
// failure streak untouched (the error is recorded for display); when none
// stands, a transient failure stores the key as pending and a definitive
// rejection stores nothing. A malformed key returns ErrInvalidKeyFormat
// before any network call.
func (e *Engine) Activate(ctx context.Context, key string) (ActionResult, error) {
	key, err := NormalizeLicenseKey(key)
	if err != nil {
		return ActionResult{}, err
	}
	if err := e.lockOp(ctx); err != nil {
		return ActionResult{}, err
	}
	defer e.unlockOp()

	res, re, now := e.callRemote("activate", func() (RemoteResult, error) {
		return e.remote.Verify(ctx, licapi.VerifyRequest{LicenseKey: key, MachineID: e.machineID, DeviceInfo: licapi.DeviceInfoActivation + e.machineID})
	})
	re = judgeAnswer(key, res, re)

	var out ActionResult
	err = e.update(ctx, func(rec *Record) ([]Event, error) {
		if re == nil {
			e.applySuccess(rec, key, res, "activate", now)
			out = ActionResult{Success: true, License: res.License, Message: res.Message}
			return []Event{{At: now, Kind: EventActivated, Message: fmt.Sprintf("license %s activated (%s)", mask.Key(key), rec.LastLicenseTypeName)}}, nil
		}
		out = ActionResult{Message: re.Message, RemoteError: re, License: res.License}
		stands := rec.HasLicense() && !rec.RemoteVerifiedAt.IsZero() && rec.Tampered == ""
		if !stands && !re.Definitive {
			// No license stands: keep the key as pending; the heartbeat retries it.
			hw := rec.ClockHighWater
			*rec = Record{SchemaVersion: SchemaVersion, LicenseKey: key, MachineID: e.machineID, ClockHighWater: hw,
				ConsecutiveFailures: 1, FirstFailureAt: EffectiveNow(now, e.highWater(Record{ClockHighWater: hw})), Signals: maps.Clone(e.signals)}
		}
		e.applyFailure(rec, re, "activate", now)
		return []Event{{At: now, Kind: EventActivateFailed, Message: fmt.Sprintf("activation of %s failed: %s", mask.Key(key), describe(re))}}, nil
	})
	return e.settle(ctx, "activate", key, re, out, now, err)
}

// Heartbeat re-verifies the stored key (the daily check and the manual
// refresh). Success restarts trust; any failure, definitive or transient,
// starts or continues the failure streak. It returns ErrNoLicense when no
// key is stored.
//
// Callers that ask while a heartbeat is in progress share its outcome
// rather than queueing a call of their own.
func (e *Engine) Heartbeat(ctx context.Context) (ActionResult, error) {
	e.hbMu.Lock()
	if f := e.hbFlight; f != nil {
		e.hbMu.Unlock()
		select {
		case <-f.done:
			return f.res, f.err
		case <-ctx.Done():
			return ActionResult{}, fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
		}
	}
	f := &flight{done: make(chan struct{})}
	e.hbFlight = f
	e.hbMu.Unlock()
	defer func() {
		e.hbMu.Lock()
		e.hbFlight = nil
		e.hbMu.Unlock()
		close(f.done)
	}()
	if f.err = e.lockOp(ctx); f.err != nil {
		return ActionResult{}, f.err
	}
	defer e.unlockOp()
	f.res, f.err = e.heartbeat(ctx)
	return f.res, f.err
}

func (e *Engine) heartbeat(ctx context.Context) (ActionResult, error) {
	rec, err := e.load(ctx)
	if err != nil {
		return ActionResult{}, err
	}
	if !rec.HasLicense() {
		return ActionResult{}, ErrNoLicense
	}
	if rec.SwitchedToMachineID != "" {
		// The license was handed to another machine: verifying here would
		// only try to bind it back. Finish the switch window instead.
		if _, err := e.tick(ctx); err != nil {
			return ActionResult{}, err
		}
		return e.finish(ctx, ActionResult{Success: true, Message: "license handed to " + rec.SwitchedToMachineID}, e.now())
	}
	key := rec.LicenseKey
	res, re, now := e.callRemote("heartbeat", func() (RemoteResult, error) {
		return e.remote.Verify(ctx, licapi.VerifyRequest{LicenseKey: key, MachineID: e.machineID, DeviceInfo: licapi.DeviceInfoHeartbeat + e.machineID})
	})
	re = judgeAnswer(key, res, re)

	var out ActionResult
	err = e.update(ctx, func(rec *Record) ([]Event, error) {
		if rec.LicenseKey != key { // cleared meanwhile (cannot happen under opSem, but stay safe)
			return nil, ErrNoLicense
		}
		if re == nil {
			e.applySuccess(rec, key, res, "heartbeat", now)
			out = ActionResult{Success: true, License: res.License, Message: res.Message}
			return []Event{{At: now, Kind: EventHeartbeatOK, Message: "heartbeat ok"}}, nil
		}
		rec.ConsecutiveFailures++
		if rec.FirstFailureAt.IsZero() {
			// The streak starts at the effective time: a clock turned back
			// must not date the streak into the past (docs/engine.md).
			rec.FirstFailureAt = e.effectiveNow(*rec, now)
		}
		e.applyFailure(rec, re, "heartbeat", now)
		out = ActionResult{Message: re.Message, RemoteError: re, License: res.License}
		return []Event{{At: now, Kind: EventHeartbeatFail, Message: fmt.Sprintf("heartbeat failed (%d in a row): %s", rec.ConsecutiveFailures, describe(re))}}, nil
	})
	return e.settle(ctx, "heartbeat", key, re, out, now, err)
}

// RequestDeviceSwitch moves the stored license from the machine it is bound
// to onto newMachineID through the remote server. When newMachineID is this
// machine (re-binding after a hardware change) the license becomes active
// here; otherwise this machine keeps it for the switch window (status
// switching) and then falls back to community.
func (e *Engine) RequestDeviceSwitch(ctx context.Context, newMachineID, reason string) (ActionResult, error) {
	if !ValidMachineID(newMachineID) {
		return ActionResult{}, ErrInvalidMachineID
	}
	if err := ValidateReason(reason); err != nil {
		return ActionResult{}, err
	}
	if err := e.lockOp(ctx); err != nil {
		return ActionResult{}, err
	}
	defer e.unlockOp()
	rec, err := e.load(ctx)
	if err != nil {
		return ActionResult{}, err
	}
	if !rec.HasLicense() {
		return ActionResult{}, ErrNoLicense
	}
	oldID := rec.MachineID
	if oldID == "" {
		oldID = e.machineID
	}
	if oldID == newMachineID {
		return ActionResult{}, fmt.Errorf("%w: the license is already bound to %s", ErrInvalidRequest, newMachineID)
	}
	key := rec.LicenseKey
	res, re, now := e.callRemote("switch", func() (RemoteResult, error) {
		return e.remote.SwitchDevice(ctx, licapi.SwitchRequest{LicenseKey: key, OldMachineID: oldID, NewMachineID: newMachineID, Reason: reason})
	})
	re = judgeAnswer(key, res, re)

	var out ActionResult
	err = e.update(ctx, func(rec *Record) ([]Event, error) {
		if re != nil {
			e.applyFailure(rec, re, "switch", now)
			out = ActionResult{Message: re.Message, RemoteError: re}
			return []Event{{At: now, Kind: EventSwitchFailed, Message: fmt.Sprintf("device switch %s → %s failed: %s", oldID, newMachineID, describe(re))}}, nil
		}
		out = ActionResult{Success: true, License: res.License, Message: res.Message}
		if newMachineID == e.machineID {
			e.applySuccess(rec, key, res, "switch", now)
			// A switch answer is signed for the old machine: it cannot
			// vouch for this one. The next start verifies afresh.
			rec.LicenseProof, rec.VerifyProof = nil, nil
			rec.OldMachineID = oldID
			rec.DeviceSwitchRequestedAt = now
		} else {
			rec.OldMachineID = oldID
			rec.SwitchedToMachineID = newMachineID
			rec.DeviceSwitchRequestedAt = now
			now = e.effectiveNow(*rec, now)
			rec.LastRefresh = Refresh{Kind: "switch", Success: true, HTTPStatus: res.HTTPStatus, Message: res.Message, At: now}
			if now.After(rec.ClockHighWater) {
				rec.ClockHighWater = now
			}
		}
		return []Event{{At: now, Kind: EventSwitched, Message: fmt.Sprintf("license moved %s → %s (%s)", oldID, newMachineID, reason)}}, nil
	})
	return e.settle(ctx, "switch", key, re, out, now, err)
}

// Clear deletes the stored license (back to community). The clock
// high-water mark survives.
func (e *Engine) Clear(ctx context.Context) (Evaluation, error) {
	if err := e.lockOp(ctx); err != nil {
		return Evaluation{}, err
	}
	defer e.unlockOp()
	now := e.now()
	var had bool
	err := e.update(ctx, func(rec *Record) ([]Event, error) {
		had = rec.HasLicense()
		hw := EffectiveNow(now, rec.ClockHighWater)
		*rec = Record{SchemaVersion: SchemaVersion, ClockHighWater: hw}
		if !had {
			return nil, nil
		}
		return []Event{{At: now, Kind: EventCleared, Message: "license cleared"}}, nil
	})
	if err != nil {
		return Evaluation{}, err
	}
	if had {
		e.log.Info("license cleared")
	}
	return e.evaluate(Record{}, now), nil
}

// Tick persists the clock high-water mark, reports a clock turned back, and
// ends a finished device switch window. The daemon calls it periodically.
// It reports whether it wrote.
func (e *Engine) Tick(ctx context.Context) (bool, error) {
	if err := e.lockOp(ctx); err != nil {
		return false, err
	}
	defer e.unlockOp()
	return e.tick(ctx)
}

func (e *Engine) tick(ctx context.Context) (bool, error) {
	now := e.now()
	rec, err := e.load(ctx)
	if err != nil {
		return false, err
	}
	ev := e.evaluate(rec, now)
	switchOver := rec.SwitchedToMachineID != "" && ev.Reason == ReasonSwitchDone
	advance := now.Sub(rec.ClockHighWater) > e.cfg.ClockTolerance
	if !switchOver && !advance && !ev.ClockBehind {
		return false, nil
	}
	wrote := false
	err = e.update(ctx, func(r *Record) ([]Event, error) {
		var evs []Event
		if ev.ClockBehind && !r.ClockHighWater.IsZero() {
			evs = append(evs, Event{At: ev.Now, Kind: EventClockBack, Message: fmt.Sprintf("clock reads %s, earlier than %s already seen; computing with the latter", now.Format(time.RFC3339), ev.Now.Format(time.RFC3339))})
		}
		r.ClockHighWater = EffectiveNow(now, e.highWater(*r))
		if switchOver && r.SwitchedToMachineID != "" {
			hw := r.ClockHighWater
			evs = append(evs, Event{At: ev.Now, Kind: EventCleared, Message: "device switch window over: license removed from this machine"})
			*r = Record{SchemaVersion: SchemaVersion, ClockHighWater: hw}
		}
		wrote = true
		return evs, nil
	})
	if ev.ClockBehind {
		e.log.Warn("system clock is behind the latest time seen; trust and grace use the latter", "clock", now, "highWater", ev.Now)
	}
	return wrote, err
}

// NeedsStartupVerify reports whether the host should verify at start: a key
// is stored and the last success is older than trust (always, without
// offline trust), or the key never verified.
func (e *Engine) NeedsStartupVerify(ctx context.Context) (bool, error) {
	rec, now, err := e.current(ctx)
	if err != nil || !rec.HasLicense() || rec.SwitchedToMachineID != "" {
		return false, err
	}
	if rec.RemoteVerifiedAt.IsZero() || !e.cfg.AllowOfflineTrust || rec.Tampered != "" || (e.proofs != nil && rec.LicenseProof == nil) {
		// Also: a tampered record, and — with a pinned server key — a
		// license without its signed answer (verified before the key was
		// pinned, or moved here by a device switch).
		return true, nil
	}
	return !e.evaluate(rec, now).Now.Before(rec.RemoteVerifiedAt.Add(e.cfg.Trust)), nil
}

// Events returns up to limit events, newest first.
func (e *Engine) Events(ctx context.Context, limit int) ([]Event, error) {
	return e.store.Events(ctx, limit)
}

func (e *Engine) finish(ctx context.Context, out ActionResult, now time.Time) (ActionResult, error) {
	rec, err := e.load(ctx)
	if err != nil {
		return ActionResult{}, err
	}
	out.Evaluation = e.evaluate(rec, now)
	if out.Success {
		e.noteFeatures(ctx, rec, out.Evaluation, now)
	}
	return out, nil
}

func (e *Engine) logRemote(op, key string, re *RemoteError) {
	if re == nil {
		e.log.Info(op+" ok", "key", mask.Key(key))
		return
	}
	e.log.Warn(op+" failed", "key", mask.Key(key), "httpStatus", re.HTTPStatus, "definitive", re.Definitive, "message", re.Message)
}

func describe(re *RemoteError) string {
	if re.HTTPStatus != 0 {
		return fmt.Sprintf("HTTP %d %s", re.HTTPStatus, re.Message)
	}
	return re.Message
}
