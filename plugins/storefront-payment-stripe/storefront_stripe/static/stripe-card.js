/* Storefront × Stripe: the card form of the payment page.
 *
 * "collect": Stripe.js shows the card field and turns the card into a payment method;
 * its id is posted (with the CSRF token) to the shop, which confirms the PaymentIntent
 * on the server. "authenticate": the intent needs 3-D Secure; Stripe.js runs it, then
 * the shopper goes back to the shop, which asks Stripe how it ended.
 * No inline script anywhere: the page's Content-Security-Policy forbids it.
 */
(function () {
  'use strict';

  var form = document.getElementById('stripe-card-form');
  if (!form || typeof window.Stripe !== 'function') {
    return;
  }
  var stripe = window.Stripe(form.dataset.publishableKey);
  var errors = form.querySelector('.stripe-card-errors');
  var button = form.querySelector('button[type="submit"]');

  function showError(error) {
    errors.textContent = (error && error.message) ||
      'Your card could not be used. Please check the details and try again.';
    errors.hidden = false;
    if (button) {
      button.disabled = false;
    }
  }

  function backToShop() {
    window.location.assign(form.dataset.returnUrl);
  }

  if (form.dataset.stage === 'authenticate') {
    // Stripe.js: handleNextAction finishes an intent confirmed on the server. Older
    // Stripe.js, and localstripe's fake, do the same through confirmCardPayment.
    var next = typeof stripe.handleNextAction === 'function'
      ? stripe.handleNextAction({clientSecret: form.dataset.clientSecret})
      : stripe.confirmCardPayment(form.dataset.clientSecret);
    // Success or not, the shop asks Stripe what happened and shows it.
    Promise.resolve(next).then(backToShop, backToShop);
    return;
  }

  var card = stripe.elements().create('card');
  card.mount('#stripe-card-element');

  function paymentMethodId() {
    var create = typeof stripe.createPaymentMethod === 'function'
      ? stripe.createPaymentMethod({type: 'card', card: card})
      : undefined;
    return Promise.resolve(create).then(function (result) {
      if (result && result.error) {
        throw result.error;
      }
      if (result && result.paymentMethod) {
        return result.paymentMethod.id;
      }
      // localstripe's fake Stripe.js has no createPaymentMethod; the card of a token
      // serves as the payment method there.
      return stripe.createToken(card).then(function (tokenResult) {
        if (!tokenResult || tokenResult.error || !tokenResult.token) {
          throw (tokenResult && tokenResult.error) || new Error('The card could not be read.');
        }
        return tokenResult.token.card.id;
      });
    });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (button) {
      button.disabled = true;
    }
    errors.hidden = true;
    paymentMethodId().then(function (id) {
      form.elements.payment_method.value = id;
      form.submit();
    }, showError);
  });
})();
