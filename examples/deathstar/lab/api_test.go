package lab

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAPI(t *testing.T) {
	srv := httptest.NewServer(apiHandler())
	defer srv.Close()
	tests := []struct {
		method, path string
		status       int
	}{
		{"GET", "/v1/", http.StatusOK},
		{"GET", "/v1", http.StatusNotFound},
		{"GET", "/v1//", http.StatusNotFound},
		{"GET", "/", http.StatusNotFound},
		{"GET", "/v1/exhaust-port", http.StatusNotFound},
		{"GET", "/v2/", http.StatusNotFound},
		{"POST", "/v1/", http.StatusMethodNotAllowed},
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			require.NoError(t, err)
			resp, err := c.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, tt.status, resp.StatusCode)
			if tt.status == http.StatusOK {
				assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
				assert.NoError(t, checkBody(resp.StatusCode, body))
				assert.Contains(t, string(body), `"name":"Death Star","model":"DS-1 Orbital Battle Station"`)
			}
		})
	}
}
