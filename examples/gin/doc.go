// Package ginexample shows the sessions middleware on a Gin router
// (github.com/gin-gonic/gin), through a small adapter: Gin's middleware
// are gin.HandlerFunc, and its handlers write to c.Writer, which must go
// through the sessions middleware's writer so that a cookie staged by
// Renew or Destroy leaves with the headers.
package ginexample
