package hookv1

import (
	"os"
	"path/filepath"
)

func readDoc() (string, error) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "abi.md"))
	return string(b), err
}
