r"""The finite MDP and its exact solutions (book sections 2.1 and 2.2).

:class:`Episodes` holds sampled episodes; :class:`TabularMDP` evaluates a policy
by one linear solve, runs value and policy iteration and samples episodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from ..._checks import as_discount, as_int, as_int_array, as_rng


@dataclass(frozen=True)
class Episodes:
    """A batch of episodes of a :class:`TabularMDP`, time along axis 0.

    Episodes of different lengths are padded after their end: ``mask[t, i]``
    is true exactly when episode ``i`` took a step at time ``t``; padded
    entries hold state and action 0 and reward 0.

    Attributes
    ----------
    states, actions, next_states : numpy.ndarray of int64, shape (T, N)
        :math:`s_t`, :math:`a_t`, :math:`s_{t+1}` (time index ``t = 0`` is the
        book's step 1).
    rewards : numpy.ndarray of float, shape (T, N)
        :math:`r_t = R(s_t, a_t, s_{t+1})`.
    mask : numpy.ndarray of bool, shape (T, N)
    lengths : numpy.ndarray of int64, shape (N,)
        Number of steps of each episode.
    truncated : numpy.ndarray of bool, shape (N,)
        True where the episode was cut at ``max_steps`` before it ended.
    """

    states: np.ndarray
    actions: np.ndarray
    next_states: np.ndarray
    rewards: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray
    truncated: np.ndarray

    @property
    def n_episodes(self) -> int:
        return self.states.shape[1]

    def returns(self, gamma=1.0) -> np.ndarray:
        r"""Discounted return :math:`\sum_{t=1}^{T} \gamma^{t-1} r_t` of each episode, (N,)."""
        gamma = as_discount(gamma)
        discounts = gamma ** np.arange(self.rewards.shape[0])
        return discounts @ self.rewards


class TabularMDP:
    r"""A finite MDP with terminal states, solved exactly.

    Parameters
    ----------
    P : array_like, shape (S, A, S)
        ``P[s, a, s']`` :math:`= P(s' \mid s, a)`; every ``P[s, a]`` is a pmf.
        Terminal states must be absorbing (``P[s, a, s] = 1``).
    R : array_like, shape (S, A) or (S, A, S)
        Reward for taking ``a`` in ``s`` (and landing in ``s'``).  Rewards of
        terminal states are never collected.
    mu0 : array_like, shape (S,)
        Initial distribution :math:`\mu_0`.  It does not depend on the policy.
    terminal : sequence of int, optional
        Terminal (absorbing) states; an episode ends on entering one.
    labels : sequence of str, optional
        Names of the states (for printing).
    layout : dict, optional
        Plotting information (used by :func:`plot_gridworld`).
    """

    def __init__(self, P, R, mu0, terminal=(), labels=None, layout=None):
        P = np.asarray(P, dtype=float)
        if P.ndim != 3 or P.shape[0] != P.shape[2] or P.shape[0] == 0 or P.shape[1] == 0:
            raise ValueError(f"P must have shape (S, A, S), got {P.shape}")
        if not np.isfinite(P).all() or (P < 0).any():
            raise ValueError("P must hold non-negative finite probabilities")
        if not np.allclose(P.sum(axis=2), 1.0, rtol=0, atol=1e-10):
            raise ValueError("P must have every P[s, a, :] summing to 1")
        S, A, _ = P.shape
        R = np.asarray(R, dtype=float)
        if R.shape == (S, A):
            R = np.repeat(R[:, :, None], S, axis=2)
        if R.shape != (S, A, S):
            raise ValueError(f"R must have shape (S, A) = {(S, A)} or (S, A, S), got {R.shape}")
        if not np.isfinite(R).all():
            raise ValueError("R must hold finite numbers")
        mu0 = np.asarray(mu0, dtype=float)
        if mu0.shape != (S,):
            raise ValueError(f"mu0 must have shape ({S},), got {mu0.shape}")
        if not np.isfinite(mu0).all() or (mu0 < 0).any() or abs(mu0.sum() - 1) > 1e-10:
            raise ValueError("mu0 must be a pmf: non-negative entries summing to 1")
        term = np.zeros(S, dtype=bool)
        for s in terminal:
            term[as_int(s, "terminal", minimum=0, maximum=S - 1)] = True
        for s in np.flatnonzero(term):
            if not np.allclose(P[s, :, s], 1.0):
                raise ValueError(f"terminal state {s} must be absorbing (P[{s}, a, {s}] = 1)")
        R = np.where(term[:, None, None], 0.0, R)  # nothing is collected after the end
        self.P, self.R_full, self.mu0, self.terminal = P, R, mu0, term
        self.R = (P * R).sum(axis=2)  # r(s, a) = sum_s' P(s'|s,a) R(s,a,s')
        self.n_states, self.n_actions = S, A
        self.labels = list(labels) if labels is not None else [str(s) for s in range(S)]
        self.layout = layout
        self._cumP = np.cumsum(P, axis=2)

    # ------------------------------------------------------------------ policies
    def check_policy(self, pi, name: str = "pi") -> np.ndarray:
        """Return ``pi`` as an (S, A) array after checking each row is a pmf."""
        try:
            pi = np.asarray(pi, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be an (S, A) array of probabilities") from None
        shape = (self.n_states, self.n_actions)
        if pi.shape != shape:
            raise ValueError(f"{name} must have shape (S, A) = {shape}, got {pi.shape}")
        if not np.isfinite(pi).all() or (pi < 0).any():
            raise ValueError(f"{name} must hold non-negative finite probabilities")
        if not np.allclose(pi.sum(axis=1), 1.0, rtol=0, atol=1e-10):
            raise ValueError(f"{name} must have rows summing to 1 (one pmf per state)")
        return pi

    def deterministic_policy(self, actions) -> np.ndarray:
        """The (S, A) policy that takes ``actions[s]`` in state ``s``."""
        actions = np.asarray(actions)
        if actions.shape != (self.n_states,):
            raise ValueError(f"actions must have shape ({self.n_states},), got {actions.shape}")
        if not np.issubdtype(actions.dtype, np.integer) or (
            (actions < 0) | (actions >= self.n_actions)
        ).any():
            raise ValueError(f"actions must be integers in [0, {self.n_actions - 1}]")
        return np.eye(self.n_actions)[actions]

    def markov_chain(self, pi):
        r"""The chain a policy induces: :math:`(P_\pi, r_\pi)` (section 2.1).

        .. math::

           P_\pi(s, s') = \sum_a \pi(a \mid s) P(s' \mid s, a), \qquad
           r_\pi(s) = \sum_a \pi(a \mid s) r(s, a).

        Returns
        -------
        P_pi : numpy.ndarray, shape (S, S)
            A stochastic matrix (terminal states absorbing).
        r_pi : numpy.ndarray, shape (S,)
            Expected one-step reward (0 on terminal states).
        """
        pi = self.check_policy(pi)
        P_pi = np.einsum("sa,sat->st", pi, self.P)
        r_pi = np.einsum("sa,sa->s", pi, self.R)
        return P_pi, r_pi

    def _transient(self, P_pi, gamma):
        """Non-terminal states; with gamma = 1 check that the episode ends a.s."""
        nt = ~self.terminal
        if gamma == 1.0:
            reach = self.terminal.copy()
            while True:  # states that reach a terminal state with positive probability
                grown = reach | (P_pi[:, reach] > 0).any(axis=1)
                if (grown == reach).all():
                    break
                reach = grown
            if not reach.all():
                bad = np.flatnonzero(~reach)[0]
                raise ValueError(
                    "gamma = 1 needs a policy under which every episode ends, but from "
                    f"state {bad} ({self.labels[bad]}) no terminal state is reachable; "
                    "use gamma < 1"
                )
        return nt

    def evaluate(self, pi, gamma):
        r"""Exact :math:`V^\pi` by one linear solve: :math:`(I - \gamma P_\pi) V = r_\pi`.

        Solved on the non-terminal states; :math:`V^\pi = 0` on terminal ones.
        ``gamma = 1`` is allowed when every episode ends with probability 1.

        Returns
        -------
        numpy.ndarray, shape (S,)
        """
        gamma = as_discount(gamma)
        P_pi, r_pi = self.markov_chain(pi)
        nt = self._transient(P_pi, gamma)
        V = np.zeros(self.n_states)
        n = int(nt.sum())
        if n:
            V[nt] = linalg.solve(np.eye(n) - gamma * P_pi[np.ix_(nt, nt)], r_pi[nt])
        return V

    def q_values(self, pi, gamma):
        r""":math:`Q^\pi(s, a) = r(s, a) + \gamma \sum_{s'} P(s' \mid s, a) V^\pi(s')`, (S, A)."""
        gamma = as_discount(gamma)
        V = self.evaluate(pi, gamma)
        Q = self.R + gamma * self.P @ V
        return np.where(self.terminal[:, None], 0.0, Q)

    def advantages(self, pi, gamma):
        r""":math:`A^\pi(s, a) = Q^\pi(s, a) - V^\pi(s)`, shape (S, A)."""
        pi = self.check_policy(pi)
        Q = self.q_values(pi, gamma)
        return Q - (pi * Q).sum(axis=1, keepdims=True)

    def objective(self, pi, gamma):
        r""":math:`J(\pi) = \mathbb{E}_{s_1 \sim \mu_0}[V^\pi(s_1)] = \mu_0^\top V^\pi`."""
        return float(self.mu0 @ self.evaluate(pi, gamma))

    def visitation(self, pi, gamma):
        r"""Discounted visits :math:`d^\pi_\gamma(s) = \sum_{t \ge 1} \gamma^{t-1} \Pr(s_t = s)`.

        :math:`d^\top = \mu_0^\top (I - \gamma P_\pi)^{-1}` on the non-terminal
        states (0 on terminal ones).  With ``gamma = 1`` it is the expected
        number of visits to each state in one episode.

        Returns
        -------
        numpy.ndarray, shape (S,)
        """
        gamma = as_discount(gamma)
        P_pi, _ = self.markov_chain(pi)
        nt = self._transient(P_pi, gamma)
        d = np.zeros(self.n_states)
        n = int(nt.sum())
        if n:
            d[nt] = linalg.solve((np.eye(n) - gamma * P_pi[np.ix_(nt, nt)]).T, self.mu0[nt])
        return d

    # ------------------------------------------------------------------ control
    def greedy(self, Q) -> np.ndarray:
        """Greedy actions ``argmax_a Q[s, a]`` (ties to the lowest index), shape (S,)."""
        return np.argmax(np.asarray(Q) + 0.0, axis=1)

    def value_iteration(self, gamma, tol=1e-12, max_iter=100_000):
        r"""Value iteration :math:`V \leftarrow \max_a [r(s,a) + \gamma \sum_{s'} P(s'|s,a) V(s')]`.

        Stops when the update changes :math:`V` by less than ``tol`` (sup norm).
        With ``gamma = 1`` it converges when every optimal policy ends the
        episode (as in the grid world).

        Returns
        -------
        V : numpy.ndarray, shape (S,)
            Optimal values :math:`V^*`.
        policy : numpy.ndarray of int, shape (S,)
            A greedy (optimal) action per state.
        n_iter : int
            Number of sweeps.
        """
        gamma = as_discount(gamma)
        max_iter = as_int(max_iter, "max_iter", minimum=1)
        V = np.zeros(self.n_states)
        for n_iter in range(1, max_iter + 1):
            Q = np.where(self.terminal[:, None], 0.0, self.R + gamma * self.P @ V)
            V_new = Q.max(axis=1)
            done = np.max(np.abs(V_new - V)) < tol
            V = V_new
            if done:
                return V, self.greedy(Q), n_iter
        raise ValueError(f"value iteration did not converge in max_iter = {max_iter} sweeps")

    def policy_iteration(self, gamma, pi0=None, max_iter=1000):
        r"""Policy iteration: exact evaluation, then greedy improvement, until stable.

        Starts from ``pi0`` (default: the uniform policy, under which the
        episodes of the grid world end, so ``gamma = 1`` works).  Each
        iteration evaluates the current policy exactly and replaces it by the
        greedy policy (ties to the lowest action, after rounding ``Q`` to 12
        decimals so that ties do not flip-flop); it stops when the greedy
        policy equals the current one in every non-terminal state.

        Returns
        -------
        V : numpy.ndarray, shape (S,)
        policy : numpy.ndarray of int, shape (S,)
        n_improve : int
            Number of improvement steps that changed the policy (in some
            non-terminal state).  The number of exact policy evaluations is
            ``n_improve + 1``; starting from an optimal deterministic policy
            gives ``n_improve = 0``.
        """
        gamma = as_discount(gamma)
        max_iter = as_int(max_iter, "max_iter", minimum=1)
        pi = np.full((self.n_states, self.n_actions), 1.0 / self.n_actions) if pi0 is None else pi0
        pi = self.check_policy(pi, "pi0")
        nt = ~self.terminal
        # a deterministic pi0 is a candidate fixed point; a stochastic one is not
        actions = pi.argmax(axis=1) if (pi.max(axis=1) == 1.0).all() else None
        n_improve = 0
        for _ in range(max_iter):
            Q = self.q_values(pi, gamma)
            new = self.greedy(np.round(Q, 12))  # rounding: ties do not flip-flop
            if actions is not None and (new[nt] == actions[nt]).all():
                return self.evaluate(pi, gamma), actions, n_improve
            actions = new
            pi = self.deterministic_policy(actions)
            n_improve += 1
        raise ValueError(f"policy iteration did not converge in max_iter = {max_iter} steps")

    # ------------------------------------------------------------------ simulation
    def sample_episodes(self, pi, n_episodes, rng=None, max_steps=1000, start=None) -> Episodes:
        """Simulate ``n_episodes`` episodes under ``pi``, all at once.

        Each time step draws the actions and next states of every running
        episode together (inverse-CDF sampling from the cumulative ``pi`` and
        ``P``); the only Python loop is over time.  An episode that has not
        ended after ``max_steps`` steps is cut (``truncated``).

        Parameters
        ----------
        pi : array_like, shape (S, A)
            The policy.
        n_episodes : int
            Number of episodes ``N``.
        rng : None, int or numpy.random.Generator
        max_steps : int
            Longest episode simulated.
        start : int or array_like of int, optional
            Start state(s) instead of draws from ``mu0`` (one per episode, or
            one for all).

        Returns
        -------
        Episodes
        """
        pi = self.check_policy(pi)
        n = as_int(n_episodes, "n_episodes", minimum=1)
        max_steps = as_int(max_steps, "max_steps", minimum=1)
        rng = as_rng(rng)
        cum_pi = np.cumsum(pi, axis=1)
        if start is None:
            s = np.searchsorted(np.cumsum(self.mu0), rng.random(n), side="right")
            s = np.minimum(s, self.n_states - 1)
        else:
            s = np.broadcast_to(as_int_array(start, "start", minimum=0,
                                             maximum=self.n_states - 1), (n,)).copy()
        idx = np.flatnonzero(~self.terminal[s])  # running episodes
        s = s[idx]
        steps = []
        for _ in range(max_steps):
            if idx.size == 0:
                break
            u_a, u_s = rng.random(idx.size), rng.random(idx.size)
            a = np.minimum((cum_pi[s] < u_a[:, None]).sum(axis=1), self.n_actions - 1)
            s_next = np.minimum((self._cumP[s, a] < u_s[:, None]).sum(axis=1),
                                self.n_states - 1)
            steps.append((idx, s, a, s_next, self.R_full[s, a, s_next]))
            keep = ~self.terminal[s_next]
            idx, s = idx[keep], s_next[keep]
        T = len(steps)
        states = np.zeros((T, n), dtype=np.int64)
        actions, next_states = np.zeros_like(states), np.zeros_like(states)
        rewards, mask = np.zeros((T, n)), np.zeros((T, n), dtype=bool)
        for t, (i, s_t, a_t, s2_t, r_t) in enumerate(steps):
            states[t, i], actions[t, i], next_states[t, i] = s_t, a_t, s2_t
            rewards[t, i], mask[t, i] = r_t, True
        truncated = np.zeros(n, dtype=bool)
        truncated[idx] = True
        return Episodes(states, actions, next_states, rewards, mask,
                        mask.sum(axis=0).astype(np.int64), truncated)
