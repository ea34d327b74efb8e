package consul

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
)

// Registration describes a service instance registering itself.
type Registration struct {
	// Name is the service name (required); ID is unique per agent (default
	// name-address-port).
	Name, ID string
	// Address and Port are where the instance serves (required).
	Address string
	Port    int
	Tags    []string
	Meta    map[string]string
	// Weight is the passing weight for weighted balancing (default 1).
	Weight int
	// HealthURL, when set, is probed by the agent every CheckInterval: the
	// instance is healthy while it answers 2xx. Point it at a readiness
	// endpoint so a draining instance leaves the healthy set at once.
	// Without it a TTL check is used, kept passing by the Registrar.
	HealthURL     string
	CheckInterval time.Duration // default 2s
	CheckTimeout  time.Duration // default 1s
	// TTL is the TTL check's period when there is no HealthURL (default 10s).
	TTL time.Duration
	// DeregisterCriticalAfter removes an instance whose check stayed
	// critical this long — a crashed process that never deregistered
	// (default 1m).
	DeregisterCriticalAfter time.Duration
}

// Registrar keeps one registration alive. Create it with Register.
type Registrar struct {
	client *api.Client
	reg    *api.AgentServiceRegistration
	ttl    bool
	every  time.Duration
	logger *slog.Logger

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// RegisterOption configures Register.
type RegisterOption func(*Registrar)

// WithRegistrarLogger sets the logger (default slog.Default()).
func WithRegistrarLogger(l *slog.Logger) RegisterOption {
	return func(r *Registrar) { r.logger = l }
}

// Register registers reg with the agent and keeps it registered until
// Deregister: it heartbeats the TTL check, and re-registers if the agent
// forgets the service (an agent restart without persisted state).
func Register(ctx context.Context, client *api.Client, reg Registration, opts ...RegisterOption) (*Registrar, error) {
	if reg.Name == "" || reg.Address == "" || reg.Port <= 0 || reg.Port > 65535 {
		return nil, fmt.Errorf("consul registration: name, address and a port in 1-65535 are required (got %q, %q, %d)", reg.Name, reg.Address, reg.Port)
	}
	if reg.ID == "" {
		reg.ID = reg.Name + "-" + net.JoinHostPort(reg.Address, strconv.Itoa(reg.Port))
	}
	weight := max(reg.Weight, 1)
	interval := orDefault(reg.CheckInterval, 2*time.Second)
	timeout := orDefault(reg.CheckTimeout, time.Second)
	ttl := orDefault(reg.TTL, 10*time.Second)
	deregAfter := orDefault(reg.DeregisterCriticalAfter, time.Minute)

	check := &api.AgentServiceCheck{
		CheckID:                        "service:" + reg.ID,
		DeregisterCriticalServiceAfter: deregAfter.String(),
	}
	r := &Registrar{client: client, logger: slog.Default(), done: make(chan struct{})}
	if reg.HealthURL != "" {
		check.Name = "HTTP " + reg.HealthURL
		check.HTTP, check.Interval, check.Timeout = reg.HealthURL, interval.String(), timeout.String()
		r.every = 5 * time.Second // only to notice a forgetful agent
	} else {
		check.Name = "TTL heartbeat"
		check.TTL = ttl.String()
		check.Status = api.HealthPassing // healthy from the start, not after the first beat
		r.ttl, r.every = true, ttl/3
	}
	r.reg = &api.AgentServiceRegistration{
		ID: reg.ID, Name: reg.Name, Address: reg.Address, Port: reg.Port, Tags: reg.Tags, Meta: reg.Meta,
		Weights: &api.AgentWeights{Passing: weight, Warning: 1},
		Check:   check,
	}
	for _, opt := range opts {
		opt(r)
	}
	if err := r.register(ctx); err != nil {
		return nil, err
	}
	var kctx context.Context
	kctx, r.cancel = context.WithCancel(context.Background())
	go r.keepAlive(kctx)
	return r, nil
}

// ID returns the registered service ID.
func (r *Registrar) ID() string { return r.reg.ID }

func (r *Registrar) register(ctx context.Context) error {
	err := r.client.Agent().ServiceRegisterOpts(r.reg, api.ServiceRegisterOpts{}.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("consul: register %s: %w", r.reg.ID, err)
	}
	return nil
}

func (r *Registrar) keepAlive(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(r.every)
	defer t.Stop()
	healthy := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := r.beat(ctx)
		if err != nil && ctx.Err() == nil {
			if healthy {
				r.logger.Warn("consul registration keep-alive failed", "service", r.reg.ID, "err", err)
			}
			healthy = false
			continue
		}
		if !healthy {
			r.logger.Info("consul registration restored", "service", r.reg.ID)
		}
		healthy = true
	}
}

// beat keeps the registration alive once: a TTL pass, or a check that the
// agent still knows the service; re-registers when it does not.
func (r *Registrar) beat(ctx context.Context) error {
	q := (&api.QueryOptions{}).WithContext(ctx)
	if r.ttl {
		err := r.client.Agent().UpdateTTLOpts(r.reg.Check.CheckID, "", api.HealthPassing, q)
		if err == nil {
			return nil
		}
		var se api.StatusError
		if !errors.As(err, &se) || se.Code != 404 {
			return err
		}
	} else {
		svc, _, err := r.client.Agent().Service(r.reg.ID, q)
		if err == nil && svc != nil {
			return nil
		}
		var se api.StatusError
		if !errors.As(err, &se) || se.Code != 404 {
			return err
		}
	}
	r.logger.Info("consul agent forgot the service; registering again", "service", r.reg.ID)
	return r.register(ctx)
}

// Deregister stops the keep-alive and removes the registration. Call it on
// shutdown after the instance has stopped taking new work.
func (r *Registrar) Deregister(ctx context.Context) error {
	var err error
	r.once.Do(func() {
		r.cancel()
		<-r.done
		err = r.client.Agent().ServiceDeregisterOpts(r.reg.ID, (&api.QueryOptions{}).WithContext(ctx))
		if err != nil {
			err = fmt.Errorf("consul: deregister %s: %w", r.reg.ID, err)
		}
	})
	return err
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
