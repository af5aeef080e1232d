package rocketsend

import (
	"reflect"
	"testing"

	"github.com/rocketsend/rocketsend/core/send"
)

// TestProducerOffersEverySendMethod: the embedding producer holds a send.Producer instead of
// embedding it, so that its lifecycle (Shutdown alone would leave plugin processes running) is
// not reachable; every other method must be offered with the same signature.
func TestProducerOffersEverySendMethod(t *testing.T) {
	lifecycle := map[string]bool{"Start": true, "Shutdown": true, "ReplaceHooks": true}
	sp, rp := reflect.TypeOf(&send.Producer{}), reflect.TypeOf(&Producer{})
	for i := 0; i < sp.NumMethod(); i++ {
		m := sp.Method(i)
		got, ok := rp.MethodByName(m.Name)
		switch {
		case lifecycle[m.Name] && ok:
			t.Errorf("rocketsend.Producer has %s: the producer's lifecycle must stay behind Close", m.Name)
		case lifecycle[m.Name]:
		case !ok:
			t.Errorf("rocketsend.Producer lacks send.Producer.%s", m.Name)
		case got.Type.NumIn() != m.Type.NumIn() || got.Type.NumOut() != m.Type.NumOut():
			t.Errorf("%s: signature %v, send.Producer has %v", m.Name, got.Type, m.Type)
		default:
			for j := 1; j < m.Type.NumIn(); j++ {
				if got.Type.In(j) != m.Type.In(j) {
					t.Errorf("%s: argument %d is %v, send.Producer's is %v", m.Name, j, got.Type.In(j), m.Type.In(j))
				}
			}
			for j := 0; j < m.Type.NumOut(); j++ {
				if got.Type.Out(j) != m.Type.Out(j) {
					t.Errorf("%s: result %d is %v, send.Producer's is %v", m.Name, j, got.Type.Out(j), m.Type.Out(j))
				}
			}
		}
	}
}
