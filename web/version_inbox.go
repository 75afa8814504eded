package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// inboxVersion reads the inbox's version filter: "" for all, else a version number.
func inboxVersion(text string) (int, error) {
	if strings.TrimSpace(text) == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(text), "v"))
	if err != nil || n < 1 {
		return 0, NewError(http.StatusBadRequest, fmt.Sprintf("%q is not a version number; versions are 1, 2, 3, …", text))
	}
	return n, nil
}

// withInboxVersion adds the version filter to an inbox URL.
func withInboxVersion(u string, version int) string {
	if version == 0 {
		return u
	}
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + "version=" + strconv.Itoa(version)
}
