package lab

import (
	"encoding/json"
	"net/http"
)

// Station is what GET /v1/ returns.
type Station struct {
	Name         string `json:"name"`
	Model        string `json:"model"`
	Manufacturer string `json:"manufacturer"`
	Class        string `json:"class"`
	Crew         int    `json:"crew"`
	Hyperdrive   string `json:"hyperdrive_rating"`
	Status       string `json:"status"`
}

var deathStar = Station{
	Name:         "Death Star",
	Model:        "DS-1 Orbital Battle Station",
	Manufacturer: "Imperial Department of Military Research, Sienar Fleet Systems",
	Class:        "Deep Space Mobile Battlestation",
	Crew:         342953,
	Hyperdrive:   "4.0",
	Status:       "fully operational",
}

// apiHandler serves the Death Star's HTTP API: GET (or HEAD) /v1/ returns
// the station as JSON; other methods on /v1/ are 405 and every other path
// is 404.
func apiHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path != "/v1/":
			http.NotFound(w, r)
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		default:
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(deathStar)
		}
	})
}
