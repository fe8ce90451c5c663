package actfile

import "testing"

// BenchmarkParseVerify is what a host pays to read and check one
// activation file (docs/activation-files.md, "Cost").
func BenchmarkParseVerify(b *testing.B) {
	vpub, vpriv := key(9)
	f := sampleActivation(b, "k1", vpriv)
	trust := TrustSet{"k1": vpub}
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	for b.Loop() {
		a, err := ParseActivation(f)
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Verify(trust); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignActivation is licensed's cost to sign one file.
func BenchmarkSignActivation(b *testing.B) {
	_, vpriv := key(9)
	b.ReportAllocs()
	for b.Loop() {
		sampleActivation(b, "k1", vpriv)
	}
}
