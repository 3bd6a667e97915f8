// Package echoexample shows the sessions middleware on an Echo router
// (github.com/labstack/echo/v4), which takes func(http.Handler)
// http.Handler through echo.WrapMiddleware.
package echoexample
