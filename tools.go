//go:build tools

// Package trellis pins dependencies that packages still being written will import.
package trellis

import (
	_ "github.com/a-h/templ"
	_ "github.com/chromedp/chromedp"
	_ "github.com/labstack/echo/v4"
	_ "github.com/labstack/echo/v4/middleware"
	_ "github.com/mattn/go-sqlite3"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "go.temporal.io/sdk/client"
	_ "go.temporal.io/sdk/testsuite"
	_ "golang.org/x/crypto/bcrypt"
)
