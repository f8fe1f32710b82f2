package serve

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/host"
)

// metrics are the server's Prometheus metrics, in a registry of its own so that two
// servers in one process (tests) do not collide.
type metrics struct {
	s        *Server
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	runs     *prometheus.CounterVec
	reloads  *prometheus.CounterVec
	storeOps *prometheus.CounterVec
	policy   *prometheus.CounterVec

	// The host's counters start at zero in each host a reload builds; what retired hosts
	// counted is kept here so the exported counters never go down.
	mu      sync.Mutex
	retired hostCounts
}

type hostCounts struct {
	pool     host.PoolStats
	storeOps map[string][2]uint64 // store -> ops, errors (stores that count them)
}

func newMetrics(s *Server) *metrics {
	m := &metrics{s: s, reg: prometheus.NewRegistry(), retired: hostCounts{storeOps: map[string][2]uint64{}}}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmkv_http_requests_total", Help: "HTTP requests by route pattern and status code.",
	}, []string{"route", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "wasmkv_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route"})
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmkv_runs_total", Help: "Handler runs by module and outcome (ok, returned_error, failed, timeout, canceled, rejected).",
	}, []string{"module", "outcome"})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmkv_config_reloads_total", Help: "Configuration reloads by result (ok, refused).",
	}, []string{"result"})
	m.storeOps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmkv_store_ops_total", Help: "Store operations scripts asked for, by store, operation and outcome (ok or the error kind).",
	}, []string{"store", "op", "outcome"})
	m.policy = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wasmkv_policy_decisions_total", Help: "Policy decisions by module, action and decision (allow, deny).",
	}, []string{"module", "action", "decision"})
	m.reg.MustRegister(m.requests, m.latency, m.runs, m.reloads, m.storeOps, m.policy, hostCollector{m},
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// StoreOp and Decision make metrics the hosts' Observer: the counters live in the
// server, so they carry on across reloads.
func (m *metrics) StoreOp(store string, op abi.Op, err *abi.Error) {
	outcome := "ok"
	if err != nil {
		outcome = string(err.Kind)
	}
	m.storeOps.WithLabelValues(store, op.String(), outcome).Inc()
}

func (m *metrics) Decision(module, action string, allowed bool) {
	d := "deny"
	if allowed {
		d = "allow"
	}
	m.policy.WithLabelValues(module, action, d).Inc()
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) request(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, statusLabel(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

func statusLabel(code int) string {
	const digits = "0123456789"
	if code < 100 || code > 999 {
		return "other"
	}
	return string([]byte{digits[code/100], digits[code/10%10], digits[code%10]})
}

// counts reads a host's counters for the modules and stores of its configuration.
func counts(h *host.Host, cfg *host.Config) hostCounts {
	c := hostCounts{pool: h.PoolStats(), storeOps: map[string][2]uint64{}}
	for id := range cfg.Stores {
		if st, ok := h.Store(id); ok {
			if em, ok := st.Metrics(); ok {
				c.storeOps[id] = [2]uint64{em.Ops, em.Errors}
			}
		}
	}
	return c
}

func modulesOf(g *generation) []string {
	seen := map[string]bool{}
	var mods []string
	for _, r := range g.l.routes {
		if !seen[r.module] {
			seen[r.module] = true
			mods = append(mods, r.module)
		}
	}
	return mods
}

// retire adds the final counts of a generation a reload replaced by next. Stores that
// next took over are left out: they keep counting there.
func (m *metrics) retire(old, next *generation) {
	c := counts(old.h, old.l.cfg)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.retired.pool.Created += c.pool.Created
	m.retired.pool.Reused += c.pool.Reused
	m.retired.pool.Discarded += c.pool.Discarded
	for id, ops := range c.storeOps {
		a, _ := old.h.Store(id)
		if b, ok := next.h.Store(id); ok && a == b {
			continue
		}
		r := m.retired.storeOps[id]
		m.retired.storeOps[id] = [2]uint64{r[0] + ops[0], r[1] + ops[1]}
	}
}

var (
	descCreated   = prometheus.NewDesc("wasmkv_instances_created_total", "Guest instances created.", nil, nil)
	descReused    = prometheus.NewDesc("wasmkv_instances_reused_total", "Runs that took an idle pooled instance.", nil, nil)
	descDiscarded = prometheus.NewDesc("wasmkv_instances_discarded_total", "Instances closed after a run that trapped, timed out or hit a limit.", nil, nil)
	descIdle      = prometheus.NewDesc("wasmkv_pool_idle_instances", "Idle pooled instances by module.", []string{"module"}, nil)
	descStoreOps  = prometheus.NewDesc("wasmkv_engine_calls_total", "Engine calls by store (engines that count them: redis).", []string{"store"}, nil)
	descStoreErrs = prometheus.NewDesc("wasmkv_engine_unavailable_total", "Engine calls that failed as unavailable, by store (redis).", []string{"store"}, nil)
	descQueue     = prometheus.NewDesc("wasmkv_queue_depth", "Requests waiting for a run slot, by module.", []string{"module"}, nil)
	descInflight  = prometheus.NewDesc("wasmkv_runs_in_flight", "Runs holding a slot, by module.", []string{"module"}, nil)
)

// hostCollector reads the current host's counters at scrape time.
type hostCollector struct{ m *metrics }

func (c hostCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCreated, descReused, descDiscarded, descIdle, descStoreOps, descStoreErrs, descQueue, descInflight} {
		ch <- d
	}
}

func (c hostCollector) Collect(ch chan<- prometheus.Metric) {
	g := c.m.s.acquire()
	defer g.active.Add(-1)
	mods := modulesOf(g)
	cur := counts(g.h, g.l.cfg)
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	ret := c.m.retired
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter(descCreated, ret.pool.Created+cur.pool.Created)
	counter(descReused, ret.pool.Reused+cur.pool.Reused)
	counter(descDiscarded, ret.pool.Discarded+cur.pool.Discarded)
	for _, mod := range mods {
		gauge(descIdle, float64(g.h.Idle(mod)), mod)
		if lim := g.limiters[mod]; lim != nil {
			gauge(descQueue, float64(lim.queued.Load()), mod)
			gauge(descInflight, float64(len(lim.slots)), mod)
		}
	}
	for id := range ret.storeOps {
		if _, live := cur.storeOps[id]; !live {
			cur.storeOps[id] = [2]uint64{}
		}
	}
	for id, ops := range cur.storeOps {
		r := ret.storeOps[id]
		counter(descStoreOps, r[0]+ops[0], id)
		counter(descStoreErrs, r[1]+ops[1], id)
	}
}
