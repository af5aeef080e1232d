//go:build wasip1

package guest

// Serve does nothing in a wasm plugin: the module is a reactor, whose main never runs, and the host
// reaches the plugin through the exports. It exists so that one main,
//
//	func main() { guest.Serve() }
//
// builds both as a wasm plugin and, natively, as a process plugin (see serve.go).
func Serve() {}
