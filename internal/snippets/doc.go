// Package snippets holds the test that keeps the README's and the docs' code blocks honest: it
// runs their shell blocks against a real cluster in a copy of the source tree, writes the files
// they tell the reader to save, checks that Go excerpts appear verbatim in compiled code and that
// HCL blocks parse. See snippets_test.go for the annotations a block takes.
package snippets
